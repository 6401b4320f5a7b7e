"""The one translation catalogue of LapseLens: every label in 中文 and English.

The words live in data files, one per language (``locales/zh.toml``, ``locales/en.toml``):
TOML because Python reads it without a dependency (``tomllib``), translators can edit it
with comments beside the entries, and our dotted keys (``error.bad_scenario``) stay as they
are, quoted, with no compile step as gettext's ``.mo`` files would need. The app (through
:mod:`ui.i18n`), the CLI and headless reports use the same words.

Lookups are lenient by default (a missing entry falls back to the other language, then to a
readable form of the key) and strict when ``LAPSELENS_STRICT_CATALOGUE`` is set, as the tests
do: then a missing key or language raises ``KeyError``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

LANGUAGES: Final = {"zh": "中文", "en": "English"}
LOCALE_DIR: Final = Path(__file__).with_name("locales")
#: Set (to anything but "" or "0") to make a missing key or language an error, as the tests do.
STRICT_ENV: Final = "LAPSELENS_STRICT_CATALOGUE"


def load_catalogue(directory: Path = LOCALE_DIR) -> dict[str, dict[str, str]]:
    """Key → {language: text}, read from one TOML file per language in ``directory``."""
    catalogue: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        with open(directory / f"{language}.toml", "rb") as handle:
            for key, text in tomllib.load(handle).items():
                catalogue.setdefault(key, {})[language] = str(text)
    return catalogue


CATALOGUE: Final[Mapping[str, Mapping[str, str]]] = load_catalogue()


#: Families of keys built at run time whose members are codes written where they arise (in the
#: data or in the analysis) and that no constant lists yet: a key of such a family counts as used
#: when its member appears as a literal in the code. ``error.…`` keys are those of ExtractError
#: (``error.<code>[.<reason>]``), found by the tests at every raise site.
OPEN_KEY_FAMILIES: Final = frozenset(
    {
        "action.{}",  # a problem's verdict or action (ingest), and the page's "all"
        "campaign.recommendation.{}",  # analysis/interventions/campaign.py
        "col.{}",  # a table column's header (column_label): the column names the code writes
        "data.source.{}",  # where the study date came from (ingest)
        "error.{}",
        "error.{}.{}",
        "error_detail.{}",  # an error parameter that is a catalogued phrase (ui.datasets.error_text)
        "kind.{}",  # a row problem's kind (ingest)
        "note.{}",  # a column note's code (ingest)
        "overview.item.{}",  # analysis/persistency/overview.py
        "overview.stage.{}",  # analysis/persistency/overview.py
        "risk.direction.{}",  # analysis/risk/model.py
        "risk.feature.{}",  # a model feature with its own words, else its column header
        "risk.stage.{}",  # the risk model's training stages (analysis/risk/model.py, ui/risk.py)
    }
)


def key_families() -> dict[str, tuple[tuple[str, ...], ...]]:
    """The catalogue keys built at run time, family by family: pattern → its members.

    A pattern is the key with ``{}`` where the code fills in a value (``t(f"status.{s}")`` is
    ``"status.{}"``); its members come from the domain constant that enumerates them, so the
    tests can check every key of every family in both languages. Each member is a tuple with
    one value per ``{}``. The families in :data:`OPEN_KEY_FAMILIES` have no such constant.
    """
    from analysis import schema as S
    from analysis.ingest.ledger import PROBLEM_KINDS
    from analysis.ingest.loud import EFFECTS as LOUD_EFFECTS
    from analysis.ingest.presets import DURATION_UNITS
    from analysis.interventions.comparison import EVIDENCE_ORDER
    from analysis.interventions.scenario import LEVER_SOURCES, POPULATIONS
    from analysis.interventions.scenario import LEVERS as SCENARIO_LEVERS
    from analysis.persistency.ratios import COHORT_GRAINS, EXCLUSIONS
    from analysis.risk.actions import LEVERS as RISK_LEVERS
    from analysis.risk.worklist import RISK_BANDS
    from analysis.study.cohorts import OPERATORS
    from analysis.study.exposure import BASES, PERIODS
    from analysis.survival.curves import SUMMARY_MONTHS
    from analysis.survival.incidence import CAUSES

    def each(values: Iterable[object]) -> tuple[tuple[str, ...], ...]:
        return tuple((str(value),) for value in dict.fromkeys(values))

    amounts = (S.ANNUAL_PREMIUM, S.SUM_ASSURED)  # the amounts a cohort study can weight by
    return {
        "status.{}": each(S.STATUSES),
        "canon.{}": each([*S.CANONICAL_COLUMNS, S.OBSERVED_TO, S.STATUS_RAW, S.SOURCE_ROW]),  # and the columns the door adds
        "value.{}.{}": tuple(
            [(S.PAYMENT_FREQUENCY, str(code)) for code in dict.fromkeys(S.FREQUENCY_ALIASES.values())]
            + [(S.GENDER, code) for code in dict.fromkeys(S.GENDER_ALIASES.values())]
        ),
        "unit.{}": each(DURATION_UNITS),
        "basis.{}": each(BASES),
        "cohort.meaning.{}": each(PERIODS),
        "cohort.op_{}": each(op.replace(" ", "_") for op in OPERATORS if op.replace(" ", "").isalpha()),  # the worded operators
        "col.exposure_{}": each(amounts),
        "col.events_{}": each(amounts),
        "overview.grain.{}": each(COHORT_GRAINS),
        "report.exclusion.{}": each(EXCLUSIONS),
        "survival.cause.{}": each(CAUSES),
        "col.survival_{}": each(SUMMARY_MONTHS),
        "lever.{}": each(RISK_LEVERS),
        "worklist.band.{}": each(RISK_BANDS),
        "interv.evidence.{}": each(EVIDENCE_ORDER),
        "interv.lever.{}": each(SCENARIO_LEVERS),
        "interv.population.{}": each(POPULATIONS),
        "interv.source.{}": each(source for sources in LEVER_SOURCES.values() for source in sources),
        # a row problem's sentence: detail.<kind>, or detail.<kind>.<variant> for a kind with several
        "detail.{}": each(kind for kind, variants in PROBLEM_KINDS.items() if "" in variants),
        "detail.{}.{}": tuple((kind, variant) for kind, variants in PROBLEM_KINDS.items() for variant in variants if variant),
        # what a reason that touches many rows does to the figures (analysis/ingest/loud.py)
        "loud.effect.{}": each(LOUD_EFFECTS),
    }


def strict() -> bool:
    """True when a missing key or language must raise (``LAPSELENS_STRICT_CATALOGUE``)."""
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def _readable(key: str) -> str:
    """A missing key shown to a person: its last part in words (``error.bad_scenario`` → "bad scenario")."""
    return key.rsplit(".", 1)[-1].replace("_", " ")


def translate(key: str, language: str, **params: object) -> str:
    """``key`` in ``language`` with ``{params}`` filled.

    Strict (``LAPSELENS_STRICT_CATALOGUE``): a key or language the catalogue lacks raises
    ``KeyError``. Lenient: the other language's text, then a readable form of the key.
    """
    entry = CATALOGUE.get(key)
    text = entry.get(language) if entry is not None else None
    if text is None:
        if strict():
            raise KeyError(f"catalogue has no {language!r} text for {key!r}")
        text = next(iter(entry.values()), None) if entry else None
        if text is None:
            return _readable(key)
    return text.format(**params) if params else text


#: How a missing value reads once turned into text (by the analysis core, pandas or numpy).
BLANK_WORDS = frozenset({"(blank)", "nan", "NaN", "None", "<NA>", "NaT", ""})


def value_word(column: str, value: object, language: str) -> str | None:
    """A coded value in words, or None when it is no code.

    Blanks, yes/no (True/False), the ``(other)`` group, and the codes of canonical columns
    that have words in the catalogue (``value.<column>.<code>``: gender M/F, payment
    frequency 0/1/3/6/12). Shared by tables, charts, sentences and the model's reasons.
    """
    text = str(value)
    if value is None or (isinstance(value, float) and value != value) or text in BLANK_WORDS:
        return translate("value.blank", language)
    if text in ("True", "False"):
        return translate("value.yes" if text == "True" else "value.no", language)
    if text == "(other)":
        return translate("value.other", language)
    key = f"value.{column}.{text.removesuffix('.0')}"
    return translate(key, language) if key in CATALOGUE else None


def column_label(name: object, language: str) -> str:
    """The header of a known column (a table column or a canonical one) in ``language``."""
    text = str(name)
    for prefix in ("col.", "canon."):
        if prefix + text in CATALOGUE:
            return translate(prefix + text, language)
    return text
