"""A retention scenario: one lever on one target, its effect and economics, checked, and its JSON form.

A **scenario** (:class:`Scenario`, JSON round-trip through :func:`scenario_to_dict` /
:func:`scenario_from_dict`) is one lever applied to one target:

* **target** — a named cohort and/or filter conditions (:class:`Target`; none = the whole
  book). Regular-premium policies only: a single-premium policy has no premium left to keep.
* **population** — ``in_force``: the target's policies in force on the study date (in
  grace, APL and reinstated included); ``new_business``: a cohort of new policies of the
  target starting at month 0 (``new_policies`` of them; by default as many as the target
  issued in the 12 months up to the study date). A low-premium product is sold to new
  business; education, reminders, flexible payment and auto-debit reach the book in force.
* **lever** — ``low_premium``, ``education``, ``reminder``, ``flexible_payment``, ``auto_debit``.
* **effect** (:class:`Effect`) — a hazard ratio on voluntary exits, one of:

  - ``hazard_ratio``: entered, with an optional 95 % interval;
  - ``relative_reduction``: r = relative reduction of the 12-month lapse probability q,
    turned into ``HR = ln(1 − (1 − r)·q) / ln(1 − q)`` (exact for a hazard constant over the
    year) with q the projected policies' baseline 12-month lapse probability;
  - ``measured``: the Cox hazard ratio and interval of a campaign evaluated on the data
    (:func:`analysis.interventions.campaign.evaluate_campaign`);
  - low premium only — ``model``: the lapse model's response to the premium cut x
    (:func:`analysis.interventions.effects.premium_response`); or ``elasticity`` ε: the
    relative change in lapse per relative change in premium, so the cut x lowers q by
    ``r = ε·x``. The model's response is an association learnt from the book, not a
    measured effect, and it has no interval; say so on the page.

* **economics** (:class:`Economics`) — take-up u, cost per contact (every targeted policy),
  cost per participant (the u share), fixed cost, horizon, annual discount rate, and the value
  of a retained policy: a profit ``margin`` on premium, or a ``value_per_policy`` the user enters.

A scenario is checked when it is built (:func:`check_scenario`): a setting that cannot be
used raises ``ExtractError("bad_scenario", reason=...)`` naming the rule.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Sequence

import pandas as pd

from analysis.errors import ExtractError
from analysis.interventions.arms import WINDOW_MONTHS
from analysis.report.catalogue import translate
from analysis.study.cohorts import Condition, NamedCohort, cohort_from_dict, filter_mask

LEVERS = ("low_premium", "education", "reminder", "flexible_payment", "auto_debit")
#: The effect sources each lever accepts.
LEVER_SOURCES = {
    "low_premium": ("model", "elasticity", "hazard_ratio", "relative_reduction"),
    **{lever: ("hazard_ratio", "relative_reduction", "measured") for lever in LEVERS[1:]},
}
POPULATIONS = ("in_force", "new_business")
#: The page compares at most this many scenarios.
MAX_SCENARIOS = 4
MAX_HORIZON_YEARS = 30
#: Scenario JSON (a file or a share link) is read only within these bounds: its size in bytes, the
#: nesting of its arrays and objects, the digits of a whole number, the scenarios it holds, a name's length.
MAX_SCENARIO_JSON_BYTES = 200_000
MAX_JSON_NESTING = 12
MAX_NUMBER_DIGITS = 30
MAX_SCENARIOS_IN_FILE = 50
MAX_NAME_CHARS = 200
#: The numbers a scenario may hold: the bounds of the page's inputs (a link or a file passes the same).
NUMBER_BOUNDS = {
    "premium_cut": (0.0, 0.8),
    "take_up": (0.0, 1.0),
    "cost_per_contact": (0.0, 1e6),
    "cost_per_participant": (0.0, 1e6),
    "fixed_cost": (0.0, 1e9),
    "discount_rate": (-0.99, 0.3),
    "margin": (0.0, 1.0),
    "value_per_policy": (0.0, 1e7),
    "new_policies": (1, 10_000_000),
    "window_months": (1, 120),
}
#: An effect's value (and interval ends) on its own scale: a hazard ratio, a relative reduction, an elasticity.
EFFECT_BOUNDS = {"hazard_ratio": (0.01, 3.0), "measured": (0.01, 10.0), "relative_reduction": (0.0, 0.99), "elasticity": (0.0, 5.0)}
_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*+"')
#: The keys of a scenario's JSON object.
SCENARIO_KEYS = ("name", "lever", "target", "population", "new_policies", "effect", "economics")


@dataclass(frozen=True)
class Target:
    """Whom a lever reaches: a named cohort and/or conditions, combined with AND (neither: the whole book)."""

    cohort: NamedCohort | None = None
    conditions: tuple[Condition, ...] = ()

    def mask(self, policies: pd.DataFrame) -> pd.Series:
        """True for the target's policies (raises ``missing_column`` for a condition on a column the data lacks)."""
        mask = filter_mask(policies, self.cohort.conditions) if self.cohort is not None else pd.Series(True, index=policies.index)
        return mask & filter_mask(policies, self.conditions)

    def text(self, language: str = "en") -> str:
        """The target in words: the cohort's name, then the conditions."""
        parts = [self.cohort.label(language)] if self.cohort is not None else []
        parts += [c.text(language) for c in self.conditions]
        return (" AND " if language == "en" else translate("cohort.and", language)).join(parts) or translate("interv.whole_book", language)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"cohort": {...} or null, "all": [{"column", "op", "value"}]}``."""
        return {"cohort": self.cohort.to_dict() if self.cohort is not None else None, "all": [asdict(c) for c in self.conditions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        """The inverse of :meth:`to_dict`, checking every operator."""
        cohort = cohort_from_dict(data["cohort"]) if data.get("cohort") else None
        conditions = cohort_from_dict({"key": "target", "name": {}, "all": data.get("all", [])}).conditions
        return cls(cohort, conditions)


@dataclass(frozen=True)
class Effect:
    """What the lever does to voluntary exits (see the module docstring for each ``source``).

    ``value``, ``lower`` and ``upper`` are on the source's own scale: a hazard ratio, a
    relative reduction of the 12-month lapse probability (0.2 = a fifth fewer lapses), an
    elasticity, or — for ``measured`` — a saved copy of the campaign's hazard ratio used
    when the campaign is not re-evaluated. ``premium_cut`` is the low-premium lever's cut
    as a fraction (0.3 = 30 % cheaper). ``treatment``, ``campaign_start`` and
    ``window_months`` name the measured campaign.
    """

    source: str = "hazard_ratio"
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    premium_cut: float = 0.0
    treatment: str | None = None
    campaign_start: str | None = None
    window_months: int = WINDOW_MONTHS


@dataclass(frozen=True)
class Economics:
    """Take-up, costs, horizon, discounting and the value of a retained policy (defaults are assumptions to state)."""

    take_up: float = 1.0
    cost_per_contact: float = 0.0
    cost_per_participant: float = 0.0
    fixed_cost: float = 0.0
    horizon_years: float = 5.0
    discount_rate: float = 0.03
    margin: float = 0.10
    value_per_policy: float | None = None

    @property
    def horizon_months(self) -> int:
        """The horizon in whole months."""
        return int(round(self.horizon_years * 12))


@dataclass(frozen=True)
class Scenario:
    """One lever on one target, with its effect and economics; checked when built (``bad_scenario``)."""

    name: str
    lever: str
    effect: Effect
    target: Target = field(default_factory=Target)
    population: str = "in_force"
    new_policies: int | None = None
    economics: Economics = field(default_factory=Economics)

    def __post_init__(self) -> None:
        check_scenario(self)

    @property
    def needs_model(self) -> bool:
        """Whether the effect comes from the lapse model's premium response (the model must be trained first)."""
        return self.effect.source == "model"

    @property
    def measures_campaign(self) -> bool:
        """Whether the effect is a campaign's, named by its treatment column (so it can be evaluated again)."""
        return self.effect.source == "measured" and bool(self.effect.treatment)


def _check_lever(scenario: Scenario) -> None:
    """The lever, its effect source, the premium cut, and the effect's value where the source needs one."""
    e = scenario.effect
    if scenario.lever not in LEVERS:
        raise ExtractError("bad_scenario", reason="lever", lever=scenario.lever, levers=", ".join(LEVERS))
    allowed = LEVER_SOURCES[scenario.lever]
    if e.source not in allowed:
        raise ExtractError("bad_scenario", reason="effect_source", lever=scenario.lever, sources=", ".join(allowed), source=e.source)
    if scenario.lever == "low_premium" and not 0 < e.premium_cut < 1:
        raise ExtractError("bad_scenario", reason="premium_cut_range", cut=e.premium_cut)
    if scenario.lever != "low_premium" and e.premium_cut != 0:
        raise ExtractError("bad_scenario", reason="premium_cut_lever", lever=scenario.lever, cut=e.premium_cut)
    if e.source in ("hazard_ratio", "relative_reduction", "elasticity") and e.value is None:
        raise ExtractError("bad_scenario", reason="effect_value", source=e.source)
    if e.source == "measured" and e.value is None and not e.treatment:
        raise ExtractError("bad_scenario", reason="treatment")


def _check_numbers(scenario: Scenario) -> None:
    """Every number finite, and the effect's interval in order around its value."""
    e, m = scenario.effect, scenario.economics
    numbers = {
        "value": e.value,
        "lower": e.lower,
        "upper": e.upper,
        "premium_cut": e.premium_cut,
        **{f.name: getattr(m, f.name) for f in fields(Economics)},
    }
    for name, number in numbers.items():
        if number is not None and not (isinstance(number, (int, float)) and math.isfinite(number)):
            raise ExtractError("bad_scenario", reason="not_finite", field=name, value=repr(number))
    if e.lower is not None and e.upper is not None and e.lower > e.upper:
        raise ExtractError("bad_scenario", reason="interval_order", lower=e.lower, upper=e.upper)
    if e.value is not None and ((e.lower is not None and e.value < e.lower) or (e.upper is not None and e.value > e.upper)):
        raise ExtractError("bad_scenario", reason="outside_interval", value=e.value, lower=e.lower, upper=e.upper)


def _check_effect_scale(scenario: Scenario) -> None:
    """The effect on its own scale (a hazard ratio above 0, a reduction in [0, 1), …), the campaign's start and window."""
    e = scenario.effect
    ends = (("value", e.value), ("lower", e.lower), ("upper", e.upper))
    if e.source == "relative_reduction":
        for name, number in ends:
            if number is not None and number < 0:
                raise ExtractError("bad_scenario", reason="reduction_negative", field=name, number=number)
    if e.campaign_start is not None:
        try:
            pd.Timestamp(e.campaign_start)
        except (ValueError, TypeError) as exc:
            raise ExtractError("bad_scenario", reason="campaign_start", start=e.campaign_start) from exc
    if scenario.new_policies is not None and (not isinstance(scenario.new_policies, int) or isinstance(scenario.new_policies, bool)):
        raise ExtractError("bad_scenario", reason="new_policies_whole", value=repr(scenario.new_policies))
    for name, number in ends:
        if number is None:
            continue
        if e.source in ("hazard_ratio", "measured") and not number > 0:
            raise ExtractError("bad_scenario", reason="hazard_ratio", field=name, number=number)
        if e.source == "relative_reduction" and not number < 1:
            raise ExtractError("bad_scenario", reason="reduction_too_large", field=name, number=number)
        if e.source == "elasticity" and not number * e.premium_cut < 1:
            raise ExtractError("bad_scenario", reason="elasticity", number=number, cut=e.premium_cut, field=name)
    if e.window_months < 1:
        raise ExtractError("bad_scenario", reason="window_months", months=e.window_months)


def _check_economics(scenario: Scenario) -> None:
    """Take-up a share, no negative cost or value, a horizon in range, a discount rate above −100 %, the population."""
    m = scenario.economics
    if not 0 <= m.take_up <= 1:
        raise ExtractError("bad_scenario", reason="take_up", value=m.take_up)
    for name in ("cost_per_contact", "cost_per_participant", "fixed_cost", "margin"):
        if getattr(m, name) < 0:
            raise ExtractError("bad_scenario", reason="negative", field=name, value=getattr(m, name))
    if m.value_per_policy is not None and m.value_per_policy < 0:
        raise ExtractError("bad_scenario", reason="negative", field="value_per_policy", value=m.value_per_policy)
    if not 0 < m.horizon_years <= MAX_HORIZON_YEARS or m.horizon_months < 1:
        raise ExtractError("bad_scenario", reason="horizon_years", longest=MAX_HORIZON_YEARS, years=m.horizon_years)
    if not m.discount_rate > -1:
        raise ExtractError("bad_scenario", reason="discount_rate", rate=m.discount_rate)
    check_population(scenario.population)
    if scenario.new_policies is not None and scenario.new_policies < 1:
        raise ExtractError("bad_scenario", reason="new_policies_positive", value=scenario.new_policies)


def check_population(population: str) -> None:
    """Raise ``bad_scenario`` (reason ``population``) unless ``population`` is one of :data:`POPULATIONS`."""
    if population not in POPULATIONS:
        raise ExtractError("bad_scenario", reason="population", populations=", ".join(POPULATIONS), population=population)


def _check_bounds(scenario: Scenario) -> None:
    """Every number within the bounds of the page's inputs (:data:`NUMBER_BOUNDS`, :data:`EFFECT_BOUNDS`), the name not too long."""
    e, m = scenario.effect, scenario.economics
    if len(scenario.name) > MAX_NAME_CHARS:
        raise ExtractError("bad_scenario", reason="name_length", length=f"{len(scenario.name):,}", limit=MAX_NAME_CHARS)
    numbers: dict[str, object] = {f.name: getattr(m, f.name) for f in fields(Economics)}
    numbers.update(premium_cut=e.premium_cut, window_months=e.window_months, new_policies=scenario.new_policies)
    ends = {"value": e.value, "lower": e.lower, "upper": e.upper}
    checks = [(name, numbers[name], NUMBER_BOUNDS[name]) for name in NUMBER_BOUNDS]
    checks += [(name, number, EFFECT_BOUNDS[e.source]) for name, number in ends.items() if e.source in EFFECT_BOUNDS]
    for name, number, (low, high) in checks:
        if isinstance(number, (int, float)) and not isinstance(number, bool) and not low <= number <= high:
            raise ExtractError("bad_scenario", reason="out_of_bounds", field=name, value=repr(number), low=low, high=high)


def check_scenario(scenario: Scenario) -> None:
    """Raise ``ExtractError("bad_scenario", reason=...)`` naming the first setting that cannot be used."""
    _check_lever(scenario)
    _check_numbers(scenario)
    _check_effect_scale(scenario)
    _check_economics(scenario)
    _check_bounds(scenario)


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The JSON-ready form of a scenario (the inverse of :func:`scenario_from_dict`)."""
    return {
        "name": scenario.name,
        "lever": scenario.lever,
        "target": scenario.target.to_dict(),
        "population": scenario.population,
        "new_policies": scenario.new_policies,
        "effect": asdict(scenario.effect),
        "economics": asdict(scenario.economics),
    }


def _key_problems(data: dict[str, Any]) -> list[str]:
    """The keys a scenario's JSON object lacks (``name``, ``lever``) or should not have."""
    problems = [key for key in ("name", "lever") if key not in data]
    problems += sorted(str(key) for key in set(data) - set(SCENARIO_KEYS))
    for part, kind in (("effect", Effect), ("economics", Economics)):
        section = data.get(part, {})
        if not isinstance(section, dict):
            problems.append(part)
            continue
        known = {f.name for f in fields(kind)}
        problems += [f"{part}.{key}" for key in sorted(str(k) for k in section if k not in known)]
    target = data.get("target")
    if target and not isinstance(target, dict):
        problems.append("target")
    return problems


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Build and check a scenario from its JSON-ready form; unknown keys are an error, missing ones take defaults."""
    if not isinstance(data, dict):
        raise ExtractError("bad_scenario", reason="shape")
    problems = _key_problems(data)
    if problems:
        raise ExtractError("bad_scenario", reason="scenario_keys", keys=", ".join(problems))
    try:
        return Scenario(
            name=str(data["name"]),
            lever=str(data["lever"]),
            effect=Effect(**data.get("effect", {})),
            target=Target.from_dict(data.get("target") or {}),
            population=str(data.get("population", "in_force")),
            new_policies=data.get("new_policies"),
            economics=Economics(**data.get("economics", {})),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ExtractError("bad_scenario", reason="scenario_keys", keys=", ".join(SCENARIO_KEYS)) from exc


def scenarios_to_json(scenarios: Sequence[Scenario]) -> str:
    """Scenarios as a JSON array (UTF-8 text, Chinese kept as it is)."""
    return json.dumps([scenario_to_dict(s) for s in scenarios], ensure_ascii=False, indent=2)


def _refuse_constant(word: str) -> float:
    raise ExtractError("bad_scenario", reason="not_finite", field="JSON", value=word)


def _whole_number(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ExtractError("bad_scenario", reason="number_digits", digits=f"{len(digits):,}", limit=MAX_NUMBER_DIGITS)
    return int(digits)


def _json_text(data: str | bytes) -> str:
    """Scenario JSON as text, within :data:`MAX_SCENARIO_JSON_BYTES` and :data:`MAX_JSON_NESTING`, before it is parsed."""
    size = len(data)
    if size > MAX_SCENARIO_JSON_BYTES:
        raise ExtractError("bad_scenario", reason="too_long", size=f"{size:,}", limit=f"{MAX_SCENARIO_JSON_BYTES:,}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ExtractError("bad_scenario", reason="not_utf8", position=exc.start) from exc
    bare = _JSON_STRINGS.sub('""', data)
    depth = 0
    for character in bare:  # at most MAX_SCENARIO_JSON_BYTES characters
        depth += 1 if character in "[{" else -1 if character in "]}" else 0
        if depth > MAX_JSON_NESTING:
            raise ExtractError("bad_scenario", reason="too_deep", limit=MAX_JSON_NESTING)
    return data


def scenarios_from_json(text: str | bytes) -> list[Scenario]:
    """Scenarios from JSON text (or UTF-8 bytes): one scenario object or an array of them.

    Size, nesting and the digits of a number are checked before and while parsing (an
    uploaded file or a share link is anyone's text): NaN and Infinity are refused, and so is
    a whole number of more than :data:`MAX_NUMBER_DIGITS` digits.
    """
    text = _json_text(text)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_whole_number)
    except json.JSONDecodeError as exc:
        raise ExtractError("bad_scenario", reason="not_json", line=exc.lineno, column=exc.colno) from exc
    except RecursionError as exc:  # past the nesting check only if it is loosened
        raise ExtractError("bad_scenario", reason="too_deep", limit=MAX_JSON_NESTING) from exc
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ExtractError("bad_scenario", reason="empty")
    if len(items) > MAX_SCENARIOS_IN_FILE:
        raise ExtractError("bad_scenario", reason="too_many", count=f"{len(items):,}", limit=MAX_SCENARIOS_IN_FILE)
    if not all(isinstance(item, dict) for item in items):
        raise ExtractError("bad_scenario", reason="shape")
    return [scenario_from_dict(item) for item in items]


def scenarios_job(data: bytes, args: dict[str, Any]) -> list[dict[str, Any]]:
    """The guard's worker job (:data:`analysis.ingest.guard.TEXT_JOBS`): scenarios from JSON bytes, as dictionaries."""
    return [scenario_to_dict(scenario) for scenario in scenarios_from_json(data)]


def guarded_scenarios(text: str | bytes) -> list[Scenario]:
    """:func:`scenarios_from_json` in the guard's worker process (an uploaded file or a share link is anyone's text).

    Raises
    ------
    ExtractError
        ``bad_scenario`` as :func:`scenarios_from_json`, or ``guard`` when the worker failed.
    """
    from analysis.ingest.guard import guarded_parse

    data = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text
    found = guarded_parse("scenarios", data, {"filename": "scenarios"})
    return [scenario_from_dict(item) for item in found]
