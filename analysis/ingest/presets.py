"""Mapping presets: how one source system's extract maps onto the canonical schema.

A preset is a small TOML file so that next month's extract maps itself::

    [columns]            # canonical name = source header
    policy_id = "保单号"
    [status_values]      # source value = canonical status
    "效力中止" = "lapsed"
    [settings]           # all optional
    study_date = "2024-06-30"
    duration_column = "duration"
    duration_unit = "quarters"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from analysis.errors import ExtractError
from analysis.schema import CANONICAL_COLUMNS, GRACE_DAYS, REINSTATEMENT_YEARS, STATUSES

#: Days in an average (Julian) year.
_YEAR_DAYS = 365.25
#: Days per unit of a duration column.
DURATION_UNITS = {"days": 1.0, "months": _YEAR_DAYS / 12, "quarters": _YEAR_DAYS / 4, "years": _YEAR_DAYS}
GRAINS = ("policy", "policy+coverage")

#: Every [settings] key a preset may hold, with its type and meaning.
SETTINGS: dict[str, tuple[type, str]] = {
    "study_date": (str, "the extract's study date (统计截止日), YYYY-MM-DD; overrides the title row"),
    "duration_column": (str, "a column of durations since issue that stands in for status_date"),
    "duration_unit": (str, "unit of duration_column: days, months, quarters or years"),
    "grain": (str, "one row per 'policy' (default) or per 'policy+coverage'"),
    "policy_id_from_row": (bool, "no policy-number column: number policies by their source row"),
    "auto_map": (bool, "map headers not listed in [columns] automatically (default true)"),
    "sheet": (str, "the workbook sheet to read (default: the first)"),
    "grace_days": (int, f"grace period after a missed due date, in days (default {GRACE_DAYS})"),
    "reinstatement_years": (int, f"reinstatement window after suspension, in years (default {REINSTATEMENT_YEARS})"),
}

#: The reason of ``bad_preset`` for a setting of the wrong type.
_NOT_OF_TYPE = {str: "setting_not_str", int: "setting_not_int", bool: "setting_not_bool"}


@dataclass(frozen=True)
class MappingPreset:
    """Column mapping, status vocabulary and settings for one kind of extract.

    Attributes
    ----------
    columns : dict
        canonical column → source header ("" means: do not map this column).
    status_values : dict
        source status value → canonical status.
    settings : dict
        see :data:`SETTINGS`.
    """

    columns: dict[str, str] = field(default_factory=dict)
    status_values: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def grace_days(self) -> int:
        """Grace period in days (contract term, default :data:`~analysis.schema.GRACE_DAYS`)."""
        return int(self.settings.get("grace_days", GRACE_DAYS))

    @property
    def reinstatement_years(self) -> int:
        """Reinstatement window in years (contract term, default 2)."""
        return int(self.settings.get("reinstatement_years", REINSTATEMENT_YEARS))


def parse_preset(text: str, *, source: str = "preset") -> MappingPreset:
    """Read a preset from TOML text, checking every name in it.

    Raises
    ------
    ExtractError
        For TOML syntax errors, unknown canonical columns or statuses and
        settings of the wrong type, naming the offending entry.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExtractError("bad_preset", reason="toml", source=source, detail=str(exc)) from exc
    unknown_sections = set(raw) - {"columns", "status_values", "settings"}
    if unknown_sections:
        raise ExtractError("bad_preset", reason="unknown_section", source=source, sections=sorted(unknown_sections))
    not_tables = sorted(name for name, section in raw.items() if not isinstance(section, dict))
    if not_tables:
        raise ExtractError("bad_preset", reason="not_a_section", source=source, names=", ".join(not_tables), first=not_tables[0])
    columns = {str(k): str(v) for k, v in raw.get("columns", {}).items()}
    bad_columns = sorted(set(columns) - set(CANONICAL_COLUMNS))
    if bad_columns:
        raise ExtractError("bad_preset", reason="unknown_column", source=source, columns=bad_columns, known=", ".join(CANONICAL_COLUMNS))
    statuses = {str(k): str(v) for k, v in raw.get("status_values", {}).items()}
    bad_statuses = sorted({v for v in statuses.values() if v not in STATUSES})
    if bad_statuses:
        raise ExtractError("bad_preset", reason="unknown_status", source=source, statuses=bad_statuses, known=", ".join(STATUSES))
    settings: dict[str, Any] = {}
    for key, value in raw.get("settings", {}).items():
        if key not in SETTINGS:
            raise ExtractError("bad_preset", reason="unknown_setting", source=source, setting=repr(key), known=", ".join(SETTINGS))
        kind = SETTINGS[key][0]
        if key == "study_date" and isinstance(value, dt.date):
            value = value.isoformat()
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ExtractError("bad_preset", reason=_NOT_OF_TYPE[kind], source=source, setting=repr(key), value=repr(value))
        settings[key] = value
    unit = settings.get("duration_unit")
    if unit is not None and unit not in DURATION_UNITS:
        raise ExtractError("bad_preset", reason="duration_unit", source=source, unit=repr(unit), known=", ".join(DURATION_UNITS))
    if settings.get("grain", "policy") not in GRAINS:
        raise ExtractError("bad_preset", reason="grain", source=source, grain=repr(settings["grain"]), known=", ".join(GRAINS))
    preset = MappingPreset(columns=columns, status_values=statuses, settings=settings)
    check_contract_terms(preset, source=source)
    return preset


#: The contract terms a preset may set, and the values that make sense for them.
CONTRACT_TERMS = {"grace_days": (0, 3650), "reinstatement_years": (0, 100)}


def check_contract_terms(preset: MappingPreset, *, source: str = "preset") -> None:
    """Refuse grace periods and reinstatement windows no contract has.

    Raises
    ------
    ExtractError
        ``bad_preset``, naming the setting, when it is not a whole number in its range.
    """
    for key, (low, high) in CONTRACT_TERMS.items():
        value = preset.settings.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ExtractError(
                "bad_preset", reason="contract_term", source=source, setting=repr(key), low=low, high=high, value=repr(value)
            )


def load_preset(path: str | Path) -> MappingPreset:
    """Read a preset TOML file (see :func:`parse_preset`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExtractError("bad_preset", reason="unreadable", source=str(path), detail=str(exc)) from exc
    return parse_preset(text, source=str(path))


def preset_to_toml(preset: MappingPreset) -> str:
    """Write a preset as TOML in the documented fixed format."""
    import tomli_w

    document: dict[str, Mapping[str, Any]] = {
        "columns": dict(preset.columns),
        "status_values": dict(preset.status_values),
        "settings": dict(preset.settings),
    }
    return tomli_w.dumps(document)
