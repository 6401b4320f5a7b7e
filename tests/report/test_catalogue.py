"""The catalogue of words, checked strictly: both languages, placeholders, every key used and none unused.

The keys the code uses are found in its syntax trees (app.py, views/, ui/, analysis/):

- literal keys handed to a lookup (``t``, ``tm``, ``tr``, ``translate``, ``has``);
- keys built at run time (``t(f"status.{s}")``, ``"col." + name``): each such pattern must be a
  family declared in :func:`analysis.report.catalogue.key_families` (members from a domain
  constant, all checked in both languages) or in ``OPEN_KEY_FAMILIES`` (codes written where
  they arise: a key counts as used when its member is a literal in the code);
- error sentences, ``error.<code>[.<reason>]``, from every ``ExtractError(...)`` call.
"""

from __future__ import annotations

import ast
import functools
import re
import string
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from paths import ROOT

from analysis.report.catalogue import LANGUAGES, LOCALE_DIR, OPEN_KEY_FAMILIES, key_families

LOOKUPS = frozenset({"t", "tm", "tr", "translate", "has"})
DYNAMIC = "<dynamic>"


def _files() -> list[Path]:
    return [ROOT / "app.py", *(path for folder in ("views", "ui", "analysis") for path in sorted((ROOT / folder).rglob("*.py")))]


@functools.cache
def _entries() -> dict[str, dict[str, str]]:
    """Language → {key: text}, each file read on its own (not merged, so a key one file lacks shows)."""
    out = {}
    for language in LANGUAGES:
        with open(LOCALE_DIR / f"{language}.toml", "rb") as handle:
            out[language] = {key: str(text) for key, text in tomllib.load(handle).items()}
    return out


def _keys() -> set[str]:
    return set().union(*(entries.keys() for entries in _entries().values()))


def _fields(text: str) -> set[tuple[str, str, str]]:
    """The ``{placeholders}`` of a text: (name, conversion, format spec) each."""
    return {(name, conversion or "", spec or "") for _, name, spec, conversion in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True)
class Raise:
    """One ``ExtractError(...)`` call: its code, reason (None, or DYNAMIC when computed), parameters."""

    where: str
    module: str
    code: str | None
    reason: str | None
    params: frozenset[str] | None  # None when it passes **params
    legacy: bool


@dataclass
class Usage:
    """What the code does with the catalogue."""

    literals: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # text → modules
    lookups: list[tuple[str, str, frozenset[str] | None]] = field(default_factory=list)  # key, where, keyword names (None: **)
    patterns: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # "status.{}" → where
    raises: list[Raise] = field(default_factory=list)
    kinds: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # row-problem kinds → where


def _namespaces() -> set[str]:
    return {key.split(".", 1)[0] for key in _keys()}


def _pattern(node: ast.JoinedStr) -> str:
    return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)


def _constants(node: ast.expr) -> list[str] | None:
    """The literal texts an argument can be (``"a" if x else "b"`` → both); None when not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _constants(node.body), _constants(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _keywords(node: ast.Call) -> frozenset[str] | None:
    return None if any(k.arg is None for k in node.keywords) else frozenset(str(k.arg) for k in node.keywords)


def _extract_error(node: ast.Call, where: str, module: str) -> Raise:
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    legacy = "code" in keywords
    code_node = keywords["code"] if legacy else (node.args[0] if node.args else None)
    code = code_node.value if isinstance(code_node, ast.Constant) and isinstance(code_node.value, str) else None
    reason_node = keywords.get("reason")
    if reason_node is None:
        reason = None
    elif isinstance(reason_node, ast.Constant) and isinstance(reason_node.value, str):
        reason = reason_node.value
    else:
        reason = DYNAMIC
    params = _keywords(node)
    return Raise(where, module, code, reason, None if params is None else params - {"reason", "code"}, legacy)


@functools.cache
def _usage() -> Usage:
    usage, namespaces = Usage(), _namespaces()
    for path in _files():
        module = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        f_string_parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            where = f"{module}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in f_string_parts:
                usage.literals[node.value].add(module)
                # a key prefix joined to a value ("col." + name): the family "col.{}"
                if re.fullmatch(r"[a-z_]+(\.[a-z_]+)*\.", node.value) and node.value.split(".", 1)[0] in namespaces:
                    usage.patterns[node.value + "{}"].add(where)
            elif isinstance(node, ast.JoinedStr):
                pattern = _pattern(node)
                if re.match(r"[a-z_]+\.", pattern) and pattern.split(".", 1)[0] in namespaces:
                    usage.patterns[pattern].add(where)
            elif isinstance(node, ast.Call):
                name = _callee(node)
                if name in LOOKUPS and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.JoinedStr):
                        usage.patterns[_pattern(first)].add(where)
                    for key in _constants(first) or []:
                        usage.lookups.append((key, where, _keywords(node)))
                elif name == "ExtractError" and module != "analysis/errors.py":
                    usage.raises.append(_extract_error(node, where, module))
                if module.startswith("analysis/ingest/"):
                    keywords = {k.arg: k.value for k in node.keywords}
                    kind = keywords.get("kind")
                    if "column" in keywords and isinstance(kind, ast.Constant) and isinstance(kind.value, str):
                        usage.kinds[kind.value].append(where)
    return usage


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\{\}", "(.+?)") + r"\Z")


def _family_keys() -> dict[str, list[str]]:
    return {pattern: [pattern.format(*member) for member in members] for pattern, members in key_families().items()}


# --- (a) and (b): the two files agree ------------------------------------------------------------


def test_both_languages_have_exactly_the_same_keys() -> None:
    entries = _entries()
    zh, en = set(entries["zh"]), set(entries["en"])
    assert sorted(zh - en) == [], "in zh.toml only"
    assert sorted(en - zh) == [], "in en.toml only"


def test_no_entry_is_empty() -> None:
    """Every key has words in both languages (a row problem's sentence included: ``detail.``)."""
    entries = _entries()
    empty = sorted(f"{language}:{key}" for language, texts in entries.items() for key, text in texts.items() if not text.strip())
    assert empty == []


def test_placeholders_match_in_both_languages() -> None:
    """Same names, conversions and format specs per key (``{rows:,}`` in one is ``{rows:,}`` in the other)."""
    entries = _entries()
    differ = {
        key: (_fields(entries["zh"][key]), _fields(entries["en"][key]))
        for key in set(entries["zh"]) & set(entries["en"])
        if _fields(entries["zh"][key]) != _fields(entries["en"][key])
    }
    assert differ == {}


def test_every_text_formats() -> None:
    """Braces that are not placeholders are doubled, and every format spec is one Python accepts."""
    for language, texts in _entries().items():
        for key, text in texts.items():
            fields = _fields(text)  # raises on an unmatched brace
            sample = {name: 1234.5 if spec else "x" for name, _, spec in fields}
            assert text.format(**sample) is not None, f"{language}:{key}"


def test_error_sentences_take_text_particulars() -> None:
    """ExtractError turns its particulars into text, so an error sentence cannot ask for a number format."""
    specced = [
        f"{language}:{key}"
        for language, texts in _entries().items()
        for key, text in texts.items()
        if key.startswith("error.") and any(spec for _, _, spec in _fields(text))
    ]
    assert specced == []


# --- (c): every key the code uses exists ----------------------------------------------------------


def test_every_literal_key_looked_up_exists() -> None:
    keys = _keys()
    assert sorted({f"{where}: {key}" for key, where, _ in _usage().lookups if key not in keys}) == []


def test_every_literal_lookup_fills_its_placeholders() -> None:
    """``t("key", a=…)`` gives every {placeholder} of the key's text (a lookup with none returns the text unformatted)."""
    entries, unfilled = _entries(), []
    for key, where, given in _usage().lookups:
        if key not in entries["zh"] or given is None or not given:
            continue
        wanted = {name for name, *_ in _fields(entries["zh"][key]) | _fields(entries["en"].get(key, ""))}
        if wanted - given:
            unfilled.append(f"{where}: {key} lacks {sorted(wanted - given)}")
    assert unfilled == []


def test_every_key_built_at_run_time_is_a_declared_family() -> None:
    declared = set(key_families()) | OPEN_KEY_FAMILIES
    undeclared = {pattern: where for pattern, where in _usage().patterns.items() if pattern not in declared}
    assert undeclared == {}, "declare each pattern in analysis/report/catalogue.py (key_families or OPEN_KEY_FAMILIES)"


def test_every_declared_family_is_built_somewhere() -> None:
    """A family nobody builds is stale (``col.exposure_{}`` is built as a column name looked up by ``"col." + name``)."""
    found = set(_usage().patterns)
    stale = [
        pattern
        for pattern in [*key_families(), *OPEN_KEY_FAMILIES]
        if pattern not in found and not any(_regex(f).match(pattern) for f in found)
    ]
    assert stale == []


@pytest.mark.parametrize("pattern", sorted(key_families()))
def test_every_member_of_a_family_exists_in_both_languages(pattern: str) -> None:
    entries = _entries()
    keys = _family_keys()[pattern]
    assert keys, f"{pattern} has no members"
    assert [k for k in keys if k not in entries["zh"] or k not in entries["en"]] == []


def test_every_error_raised_has_its_sentence() -> None:
    """``ExtractError("code", reason="r", x=…)``: ``error.code.r`` exists and its placeholders are all given."""
    entries, problems = _entries(), []
    for raised in _usage().raises:
        if raised.legacy or raised.code is None or raised.reason == DYNAMIC:
            continue  # legacy (its own message) or computed: checked where the code and reason are written
        key = f"error.{raised.code}" + (f".{raised.reason}" if raised.reason else "")
        if key not in entries["zh"] or key not in entries["en"]:
            problems.append(f"{raised.where}: no {key}")
        elif raised.params is not None:
            wanted = {name for name, *_ in _fields(entries["zh"][key]) | _fields(entries["en"][key])}
            if wanted - raised.params:
                problems.append(f"{raised.where}: {key} lacks {sorted(wanted - raised.params)}")
    assert problems == []


def test_every_row_problem_kind_has_its_words() -> None:
    keys = _keys()
    assert _usage().kinds, "no ledger entries found in analysis/ingest"
    assert sorted(kind for kind in _usage().kinds if f"kind.{kind}" not in keys) == []


# --- (d): no key is unused ------------------------------------------------------------------------


def _error_keys_raised() -> set[str]:
    """error.<code>[.<reason>] of every raise site; a computed reason counts with its literals in the module."""
    usage, keys, used = _usage(), _keys(), set()
    for raised in usage.raises:
        if raised.code is None:
            continue
        if raised.reason == DYNAMIC:
            prefix = f"error.{raised.code}."
            used |= {k for k in keys if k.startswith(prefix) and raised.module in usage.literals.get(k[len(prefix) :], set())}
        else:
            used.add(f"error.{raised.code}" + (f".{raised.reason}" if raised.reason else ""))
    return used


def _unused() -> list[str]:
    usage = _usage()
    used = {key for key in _keys() if key in usage.literals}
    for keys in _family_keys().values():
        used.update(keys)
    used |= _error_keys_raised()
    open_families = [_regex(pattern) for pattern in OPEN_KEY_FAMILIES if not pattern.startswith("error.")]
    for key in _keys() - used:
        for regex in open_families:
            match = regex.match(key)
            if match and all(member in usage.literals for member in match.groups()):
                used.add(key)
                break
    return sorted(_keys() - used)


def test_no_key_is_unused() -> None:
    assert _unused() == []


def test_the_check_sees_most_keys_as_literals_or_members() -> None:
    """Guard against a scan that finds nothing: most keys are literal lookups, members of a closed family or raised errors."""
    usage, keys = _usage(), _keys()
    literal = {key for key, _, _ in usage.lookups}
    members = {k for ks in _family_keys().values() for k in ks}
    assert len(keys & (literal | members | _error_keys_raised())) > 0.6 * len(keys)
