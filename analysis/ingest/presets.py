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
from analysis.schema import CANONICAL_COLUMNS, STATUSES

DURATION_UNITS = {"days": 1.0, "months": 365.25 / 12, "quarters": 365.25 / 4, "years": 365.25}
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
    "grace_days": (int, "grace period after a missed due date, in days (default 60)"),
    "reinstatement_years": (int, "reinstatement window after suspension, in years (default 2)"),
}


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
        """Grace period in days (contract term, default 60)."""
        return int(self.settings.get("grace_days", 60))

    @property
    def reinstatement_years(self) -> int:
        """Reinstatement window in years (contract term, default 2)."""
        return int(self.settings.get("reinstatement_years", 2))


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
        raise ExtractError(f"The mapping preset {source} is not valid TOML: {exc}.", code="bad_preset", detail=str(exc)) from exc
    unknown_sections = set(raw) - {"columns", "status_values", "settings"}
    if unknown_sections:
        raise ExtractError(
            f"The mapping preset {source} has unknown section(s) {sorted(unknown_sections)}; "
            "expected [columns], [status_values] and [settings].",
            code="bad_preset",
            detail=str(sorted(unknown_sections)),
        )
    not_tables = sorted(name for name, section in raw.items() if not isinstance(section, dict))
    if not_tables:
        raise ExtractError(
            f"In the mapping preset {source}, {', '.join(not_tables)} should be a section ([{not_tables[0]}]) of names and values.",
            code="bad_preset",
            detail=", ".join(not_tables),
        )
    columns = {str(k): str(v) for k, v in raw.get("columns", {}).items()}
    bad_columns = sorted(set(columns) - set(CANONICAL_COLUMNS))
    if bad_columns:
        raise ExtractError(
            f"The mapping preset {source} maps unknown canonical column(s) {bad_columns}; "
            f"the canonical columns are {', '.join(CANONICAL_COLUMNS)}.",
            code="bad_preset",
            detail=str(bad_columns),
        )
    statuses = {str(k): str(v) for k, v in raw.get("status_values", {}).items()}
    bad_statuses = sorted({v for v in statuses.values() if v not in STATUSES})
    if bad_statuses:
        raise ExtractError(
            f"The mapping preset {source} uses unknown status(es) {bad_statuses}; the canonical statuses are {', '.join(STATUSES)}.",
            code="bad_preset",
            detail=str(bad_statuses),
        )
    settings: dict[str, Any] = {}
    for key, value in raw.get("settings", {}).items():
        if key not in SETTINGS:
            raise ExtractError(
                f"The mapping preset {source} has an unknown setting {key!r}; known settings: {', '.join(SETTINGS)}.",
                code="bad_preset",
                detail=key,
            )
        kind = SETTINGS[key][0]
        if key == "study_date" and isinstance(value, dt.date):
            value = value.isoformat()
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ExtractError(
                f"The setting {key!r} in {source} should be a {kind.__name__}, got {value!r}.",
                code="bad_preset",
                detail=key,
            )
        settings[key] = value
    unit = settings.get("duration_unit")
    if unit is not None and unit not in DURATION_UNITS:
        raise ExtractError(
            f"duration_unit {unit!r} in {source} is not one of {', '.join(DURATION_UNITS)}.",
            code="bad_preset",
            detail=str(unit),
        )
    if settings.get("grain", "policy") not in GRAINS:
        raise ExtractError(
            f"grain {settings['grain']!r} in {source} is not one of {', '.join(GRAINS)}.",
            code="bad_preset",
            detail=str(settings["grain"]),
        )
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
                f"The setting {key!r} in {source} should be a whole number from {low} to {high}, got {value!r}.",
                code="bad_preset",
                detail=f"{key} = {value!r}",
            )


def load_preset(path: str | Path) -> MappingPreset:
    """Read a preset TOML file (see :func:`parse_preset`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExtractError(f"The mapping preset {path} cannot be read: {exc}.", code="bad_preset", detail=str(exc)) from exc
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
