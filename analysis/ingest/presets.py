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
    premium_basis = "instalment"   # the premium column holds one instalment (期交保费)
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from analysis.errors import ExtractError
from analysis.ingest.headers import ANNUAL, PREMIUM_BASES, resolve_mapping
from analysis.schema import CANONICAL_COLUMNS, FREE_LOOK_DAYS, GRACE_DAYS, POLICY_ID, REINSTATEMENT_YEARS, REQUIRED_COLUMNS, STATUSES

#: Days in an average (Julian) year.
_YEAR_DAYS = 365.25
#: Days per unit of a duration column.
DURATION_UNITS = {"days": 1.0, "months": _YEAR_DAYS / 12, "quarters": _YEAR_DAYS / 4, "years": _YEAR_DAYS}
GRAINS = ("policy", "policy+coverage")
#: The rules that date an exit the extract leaves undated (DOMAIN.md §7), each a [settings] switch, on unless set false:
#: surrender, death and maturity at the paid-to date; a free-look cancellation at issue + ``free_look_days``;
#: a lapse (also the one behind a reinstatement) at the paid-to date + grace + 1 day.
PAID_TO_EXITS, FREE_LOOK_EXITS, PAID_TO_LAPSES = "date_exits_at_paid_to", "date_free_look_at_issue", "date_lapses_from_paid_to"
EXIT_DATING_RULES = (PAID_TO_EXITS, FREE_LOOK_EXITS, PAID_TO_LAPSES)

#: Every [settings] key a preset may hold, with its type and meaning.
SETTINGS: dict[str, tuple[type, str]] = {
    "study_date": (str, "the extract's study date (统计截止日), YYYY-MM-DD; overrides the title row"),
    "duration_column": (str, "a column of durations since issue that stands in for status_date"),
    "duration_unit": (str, "unit of duration_column: days, months, quarters or years"),
    "grain": (str, "one row per 'policy' (default) or per 'policy+coverage'"),
    "policy_id_from_row": (bool, "no policy-number column: number policies by their source row"),
    "auto_map": (bool, "map headers not listed in [columns] automatically (default true)"),
    "sheet": (str, "the workbook sheet to read (default: the first)"),
    "premium_basis": (str, "what the premium column holds: 'instalment' or 'annual' (default: as its header says, else annual)"),
    "grace_days": (int, f"grace period after a missed due date, in days (default {GRACE_DAYS})"),
    "reinstatement_years": (int, f"reinstatement window after suspension, in years (default {REINSTATEMENT_YEARS})"),
    "free_look_days": (int, f"free-look period after issue, in days (default {FREE_LOOK_DAYS})"),
    PAID_TO_EXITS: (bool, "date a surrender, death or maturity without a status date at its paid-to date (default true)"),
    FREE_LOOK_EXITS: (bool, "date a free-look cancellation without a status date at issue + free_look_days (default true)"),
    PAID_TO_LAPSES: (bool, "date a lapse without a status or lapse date at the paid-to date + grace + 1 day (default true)"),
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

    @property
    def free_look_days(self) -> int:
        """Free-look period in days (contract term, default :data:`~analysis.schema.FREE_LOOK_DAYS`)."""
        return int(self.settings.get("free_look_days", FREE_LOOK_DAYS))

    def dates_by_rule(self, rule: str) -> bool:
        """Whether the exit-dating rule ``rule`` (one of :data:`EXIT_DATING_RULES`) is on: every rule is, unless switched off."""
        return bool(self.settings.get(rule, True))


def parse_preset(text: str, *, source: str = "preset") -> MappingPreset:
    """Read a preset from TOML text, checking every name in it.

    Raises
    ------
    ExtractError
        For TOML syntax errors, unknown canonical columns or statuses and
        settings of the wrong type, naming the offending entry.
    """
    check_preset_text(text, source=source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExtractError("bad_preset", reason="toml", source=source, detail=str(exc)) from exc
    except (RecursionError, MemoryError) as exc:  # past the checks above only if they are loosened
        raise ExtractError("bad_preset", reason="too_deep", source=source, depth=MAX_PRESET_NESTING, parts=MAX_KEY_PARTS) from exc
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
        if key == "study_date":
            value = _study_day(value, source=source)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ExtractError("bad_preset", reason=_NOT_OF_TYPE[kind], source=source, setting=repr(key), value=repr(value))
        settings[key] = value
    unit = settings.get("duration_unit")
    if unit is not None and unit not in DURATION_UNITS:
        raise ExtractError("bad_preset", reason="duration_unit", source=source, unit=repr(unit), known=", ".join(DURATION_UNITS))
    if settings.get("grain", "policy") not in GRAINS:
        raise ExtractError("bad_preset", reason="grain", source=source, grain=repr(settings["grain"]), known=", ".join(GRAINS))
    if settings.get("premium_basis", ANNUAL) not in PREMIUM_BASES:
        raise ExtractError(
            "bad_preset", reason="premium_basis", source=source, basis=repr(settings["premium_basis"]), known=", ".join(PREMIUM_BASES)
        )
    preset = MappingPreset(columns=columns, status_values=statuses, settings=settings)
    check_contract_terms(preset, source=source)
    return preset


#: A preset is a short text: at most this many bytes (the shipped ones take 1 KB; 10,000 status words about 300 KB) …
MAX_PRESET_BYTES = 500_000
#: … brackets and braces nested at most this deep (a preset has no arrays: ``[settings]`` is one) …
MAX_PRESET_NESTING = 4
#: … and a dotted key of at most this many parts (``settings.grace_days`` has two). tomllib's
#: cost grows with the square of a dotted key's length: an 80 KB key took 6.7 GB.
MAX_KEY_PARTS = 4
#: Strings and comments of TOML text, taken out before its structure is measured.
_TOML_STRINGS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
#: A name of more than MAX_KEY_PARTS parts; possessive and anchored at a name's start, so a search is linear.
_DOTTED = re.compile(r"(?<![\w-])[\w-]++(?:[ \t]*+\.[ \t]*+[\w-]++){" + str(MAX_KEY_PARTS) + "}")


def check_preset_text(text: str, *, source: str = "preset") -> None:
    """Refuse preset text that is too long, nested too deep or has a dotted key of too many parts, before it is parsed.

    Strings and comments are taken out first (a status word may hold dots and brackets),
    then brackets and braces are counted and dotted names measured: linear in the text,
    so the parse that follows is linear too.

    Raises
    ------
    ExtractError
        ``bad_preset`` (``too_long`` or ``too_deep``).
    """
    import numpy as np

    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_PRESET_BYTES:
        raise ExtractError("bad_preset", reason="too_long", source=source, size=f"{size:,}", limit=f"{MAX_PRESET_BYTES:,}")
    bare = _TOML_STRINGS.sub("s", text).encode("utf-8", errors="replace")
    codes = np.frombuffer(bare, dtype=np.uint8)
    steps = np.isin(codes, (0x5B, 0x7B)).astype(np.int64) - np.isin(codes, (0x5D, 0x7D)).astype(np.int64)
    deepest = int(np.cumsum(steps).max()) if len(steps) else 0
    if deepest > MAX_PRESET_NESTING or _DOTTED.search(bare.decode("utf-8", errors="replace")):
        raise ExtractError("bad_preset", reason="too_deep", source=source, depth=MAX_PRESET_NESTING, parts=MAX_KEY_PARTS)


def _study_day(value: object, *, source: str) -> object:
    """A preset's study date as ``YYYY-MM-DD``: a date, or the day of a date and time (zone dropped); other text as it is."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return value  # refused below as not text
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value.strip()).date().isoformat()
    except ValueError:
        return value  # another form (2024/06/30): read, or refused, with the study date itself


#: The contract terms a preset may set, and the values that make sense for them.
CONTRACT_TERMS = {"grace_days": (0, 3650), "reinstatement_years": (0, 100), "free_look_days": (0, 366)}


def check_contract_terms(preset: MappingPreset, *, source: str = "preset") -> None:
    """Refuse grace periods, reinstatement windows and free-look periods no contract has.

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
    """Read a preset TOML file (see :func:`parse_preset`), parsed in the guard's worker process."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExtractError("bad_preset", reason="unreadable", source=str(path), detail=str(exc)) from exc
    return guarded_preset(text, source=str(path))


def preset_job(data: bytes, args: dict[str, Any]) -> str:
    """The guard's worker job (:data:`analysis.ingest.guard.TEXT_JOBS`): a preset parsed, rendered back as TOML."""
    return preset_to_toml(parse_preset(data.decode("utf-8", errors="replace"), source=str(args.get("source", "preset"))))


def guarded_preset(text: str, *, source: str = "preset") -> MappingPreset:
    """:func:`parse_preset` in the guard's worker process (a preset is anyone's text).

    Raises
    ------
    ExtractError
        The preset's refusal (``bad_preset``), or ``guard`` when the worker failed.
    """
    from analysis.ingest.guard import guarded_parse  # the guard imports this module

    rendered = guarded_parse("preset", text.encode("utf-8", errors="surrogatepass"), {"filename": source, "source": source})
    return parse_preset(str(rendered), source=source)  # the worker's own rendering: checked and small


def fitting_presets(headers: Sequence[str], presets: Mapping[str, MappingPreset]) -> list[str]:
    """The presets that fit a file's headers, the most specific first: what to offer after a failed load.

    A preset fits when every header it names (``[columns]``, and its ``duration_column``)
    is one of ``headers``, and with it every required column is mapped (named by it, or
    recognised automatically unless it sets ``auto_map = false``; the policy number not
    needed with ``policy_id_from_row``). Presets naming more of the file's columns come first.

    Examples
    --------
    >>> us = MappingPreset(columns={"issue_date": "issue.date", "status": "termination.cause"}, settings={"policy_id_from_row": True})
    >>> fitting_presets(["issue.date", "duration", "termination.cause"], {"us": us, "other": MappingPreset(columns={"status": "x"})})
    ['us']
    """
    fits: list[tuple[int, str]] = []
    present = set(headers)
    for name, preset in presets.items():
        named = [source for source in preset.columns.values() if source]
        duration = preset.settings.get("duration_column")
        if any(source not in present for source in named) or (duration and duration not in present):
            continue
        mapping = resolve_mapping(headers, preset.columns, auto=bool(preset.settings.get("auto_map", True)))
        required = [c for c in REQUIRED_COLUMNS if not (c == POLICY_ID and preset.settings.get("policy_id_from_row"))]
        if all(c in mapping for c in required):
            fits.append((len(named) + bool(duration), name))
    return [name for _, name in sorted(fits, key=lambda fit: (-fit[0], fit[1]))]


def preset_to_toml(preset: MappingPreset) -> str:
    """Write a preset as TOML in the documented fixed format."""
    import tomli_w

    document: dict[str, Mapping[str, Any]] = {
        "columns": dict(preset.columns),
        "status_values": dict(preset.status_values),
        "settings": dict(preset.settings),
    }
    return tomli_w.dumps(document)
