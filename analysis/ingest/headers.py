"""Find the header row of an extract and map its headers to canonical columns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from analysis.ingest.text import normalise_key
from analysis.schema import CANONICAL_COLUMNS, HEADER_ALIASES

_UNIT = re.compile(r"[\(（\[【][^\)）\]】]*[\)）\]】]")
#: A header row holds at least this many known headers (a title row holds one at most).
_MIN_ALIAS_HITS = 2
#: Without known headers, the header is the first row of at least ``_MIN_FILLED`` filled cells
#: that is filled to this share of the widest row …
_FILLED_SHARE = 0.8
_MIN_FILLED = 2
#: … with at least this share of its cells text rather than numbers or dates.
_TEXT_SHARE = 0.7
#: The confidence of a match: a known header as written, once units in brackets are dropped,
#: or a header that contains a known one (of at least ``_MIN_CONTAINED`` characters).
EXACT, WITHOUT_UNITS, CONTAINS = 1.0, 0.8, 0.6
_MIN_CONTAINED = 2


#: What a premium column holds: one instalment's premium (annualised on the way in), or a year's.
INSTALMENT, ANNUAL = "instalment", "annual"
PREMIUM_BASES = (INSTALMENT, ANNUAL)
#: Words in a premium column's header that say it holds one instalment's premium (期交保费, 每期保费) …
INSTALMENT_PREMIUM_WORDS = (
    "期交保费",
    "期缴保费",
    "每期保费",
    "每期交费",
    "每期缴费",
    "分期保费",
    "instalment_premium",
    "installment_premium",
    "modal_premium",
)
#: … or a year's (年化保费, 年缴保费, 标准保费); the instalment words are looked for first.
ANNUAL_PREMIUM_WORDS = ("年化保费", "年缴保费", "年交保费", "标准保费", "annualised_premium", "annualized_premium", "annual_premium")


def header_key(text: object) -> str:
    """Comparable form of a header: no units in brackets, no spaces or punctuation."""
    key = normalise_key("" if text is None else text)
    key = _UNIT.sub("", key)
    return re.sub(r"[\s_\-:：/.·]+", "", key)


def premium_basis_of(header: str) -> str | None:
    """What a premium column's header says it holds: ``"instalment"``, ``"annual"``, or None when it does not say.

    Examples
    --------
    >>> premium_basis_of("期交保费（元）"), premium_basis_of("年化保费"), premium_basis_of("保费")
    ('instalment', 'annual', None)
    """
    key = header_key(header)
    for basis, words in ((INSTALMENT, INSTALMENT_PREMIUM_WORDS), (ANNUAL, ANNUAL_PREMIUM_WORDS)):
        if any(header_key(word) in key for word in words):
            return basis
    return None


#: Known headers shown as examples in a message about a missing column.
EXAMPLES_SHOWN = 4


def example_headers(canonical: str, language: str, *, count: int = EXAMPLES_SHOWN) -> list[str]:
    """Known headers of a canonical column written in a language's script: Chinese ones for ``zh``, Latin ones otherwise.

    Examples
    --------
    >>> example_headers("policy_id", "zh"), example_headers("policy_id", "en", count=2)
    (['保单号', '保单号码', '保单合同号', '合同号'], ['policy_id', 'policy_no'])
    """
    chinese = language == "zh"
    return [alias for alias in HEADER_ALIASES.get(canonical, ()) if bool(re.search(r"[\u4e00-\u9fff]", alias)) == chinese][:count]


_ALIAS_KEYS: dict[str, list[tuple[str, int]]] = {}
for _canonical, _aliases in HEADER_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _ALIAS_KEYS.setdefault(header_key(_alias), []).append((_canonical, _rank))


def _alias_hits(cells: Iterable[object]) -> int:
    return sum(1 for cell in cells if header_key(cell) in _ALIAS_KEYS)


def find_header_row(rows: Sequence[Sequence[object]]) -> int:
    """Index (0-based) of the header row among the first rows of a sheet.

    The header is the row with the most cells that are known header aliases;
    title rows and merged group-header rows above it match few or none. When
    no row matches any alias, the first row that is as wide as the table and
    holds mostly text is taken.
    """
    if not rows:
        return 0
    best, best_hits = 0, 0
    for index, row in enumerate(rows):
        hits = _alias_hits(row)
        if hits > best_hits:
            best, best_hits = index, hits
    if best_hits >= _MIN_ALIAS_HITS:
        return best
    widths = [sum(1 for c in row if str(c or "").strip()) for row in rows]
    full = max(widths)
    for index, row in enumerate(rows):
        filled = [str(c).strip() for c in row if str(c or "").strip()]
        if full and len(filled) >= max(_MIN_FILLED, _FILLED_SHARE * full):
            texty = sum(1 for c in filled if not re.fullmatch(r"[\d.,:/\- ]+", c))
            if texty >= _TEXT_SHARE * len(filled):
                return index
    # Nothing looks like a header: take the first row that holds anything.
    return next((index for index, width in enumerate(widths) if width), best)


@dataclass(frozen=True)
class ColumnMatch:
    """A proposed mapping of one source header to a canonical column."""

    canonical: str
    source: str
    confidence: float
    how: str


def match_headers(headers: Sequence[str]) -> dict[str, ColumnMatch]:
    """Propose a canonical column for each header it recognises, with a confidence.

    Confidence is 1.0 for a known alias, 0.8 for a known alias once units in
    brackets are dropped (``年化保费（元）``), 0.6 when the header contains an
    alias (``被保险人年龄``). Each canonical column and each header is used at
    most once, best matches first.

    Returns
    -------
    dict
        canonical column → :class:`ColumnMatch`.
    """
    candidates: list[tuple[float, int, int, str, str, str]] = []
    for position, header in enumerate(headers):
        plain = normalise_key(header)
        key = header_key(header)
        if not key:
            continue
        exact = _ALIAS_KEYS.get(key, [])
        for canonical, rank in exact:
            raw_exact = any(normalise_key(a) == plain for a in HEADER_ALIASES[canonical])
            confidence = EXACT if raw_exact else WITHOUT_UNITS
            candidates.append((confidence, -rank, -position, canonical, header, "alias"))
        if exact:
            continue
        for alias_key, owners in _ALIAS_KEYS.items():
            if len(alias_key) >= _MIN_CONTAINED and alias_key in key:
                for canonical, rank in owners:
                    candidates.append((CONTAINS, -rank, -position, canonical, header, "contains"))
    candidates.sort(reverse=True)
    chosen: dict[str, ColumnMatch] = {}
    used: set[str] = set()
    for confidence, _rank, _pos, canonical, header, how in candidates:
        if canonical in chosen or header in used:
            continue
        chosen[canonical] = ColumnMatch(canonical, header, confidence, how)
        used.add(header)
    return {c: chosen[c] for c in CANONICAL_COLUMNS if c in chosen}


def resolve_mapping(
    headers: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    *,
    auto: bool = True,
) -> dict[str, ColumnMatch]:
    """Combine the automatic proposal with the user's choices.

    ``overrides`` maps canonical → source header; an empty string removes the
    canonical column from the mapping. A header chosen by the user is taken
    away from any automatic match.
    """
    overrides = dict(overrides or {})
    proposed = match_headers(headers) if auto else {}
    taken = {src for src in overrides.values() if src}
    result: dict[str, ColumnMatch] = {}
    for canonical in CANONICAL_COLUMNS:
        if canonical in overrides:
            source = overrides[canonical]
            if source:
                result[canonical] = ColumnMatch(canonical, source, EXACT, "user")
        elif canonical in proposed and proposed[canonical].source not in taken:
            result[canonical] = proposed[canonical]
    return result
