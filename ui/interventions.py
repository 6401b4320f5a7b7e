"""Interventions for the page: cached baselines and campaign evaluations, scenarios in the URL.

The expensive inputs (a target's baseline curve, a campaign's evaluation, the lapse
model's premium response) are cached per data set; a scenario's projection is cheap and
recomputes on every change. The scenario set lives in the session and in the URL
(``?scenarios=``, zlib-compressed JSON in URL-safe base64) so a link shows a colleague the
same comparison.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

import pandas as pd
import streamlit as st

from analysis.errors import ExtractError
from analysis.ingest.pipeline import LoadResult
from analysis.interventions.arms import campaign_columns as columns_of_campaigns
from analysis.interventions.baseline import Baseline, baseline_for
from analysis.interventions.campaign import CampaignResult, evaluate_campaign
from analysis.interventions.effects import PremiumResponse
from analysis.interventions.projection import ScenarioResult, model_response, project_scenario
from analysis.interventions.scenario import (
    MAX_SCENARIO_JSON_BYTES,
    MAX_SCENARIOS,
    Scenario,
    Target,
    guarded_scenarios,
    scenario_from_dict,
    scenario_to_dict,
)
from analysis.risk.model import RiskResult
from ui import risk as ui_risk
from ui.state import DataSetChoice
from ui.study import dataset_key

#: Session key of the scenario set (a list of JSON-ready dicts).
SCENARIOS = "interv_scenarios"
#: The URL parameter that carries them.
URL_PARAM = "scenarios"
#: Session key of why the link's scenarios were refused (an ExtractError).
BAD_LINK_ERROR = "interv_bad_link_error"


def bad_link_error() -> ExtractError | None:
    """Why the page's link could not be read (taken once: the page shows it, then it is gone)."""
    error = st.session_state.pop(BAD_LINK_ERROR, None)
    return error if isinstance(error, ExtractError) else None


@st.cache_resource(max_entries=16, show_spinner=False)
def _baseline(key: str, target_json: str, population: str, new_policies: int | None, _result: LoadResult) -> Baseline:
    target = Target.from_dict(json.loads(target_json))
    return baseline_for(_result.policies, study_date=_result.study_date, target=target, population=population, new_policies=new_policies)


def baseline(choice: DataSetChoice, result: LoadResult, scenario: Scenario) -> Baseline:
    """The scenario's target baseline (cached per data set, target and population)."""
    target_json = json.dumps(scenario.target.to_dict(), ensure_ascii=False, sort_keys=True)
    return _baseline(dataset_key(choice), target_json, scenario.population, scenario.new_policies, result)


@st.cache_resource(max_entries=8, show_spinner=False)
def _campaign(key: str, treatment: str, start: str | None, window: int, _result: LoadResult) -> CampaignResult:
    return evaluate_campaign(_result.policies, treatment=treatment, study_date=_result.study_date, start=start, window_months=window)


def campaign(choice: DataSetChoice, result: LoadResult, treatment: str, start: str | None, window: int) -> CampaignResult:
    """A campaign's evaluation (cached per data set, column, start and window)."""
    return _campaign(dataset_key(choice), treatment, start, window, result)


@st.cache_resource(max_entries=16, show_spinner=False)
def _response(key: str, target_json: str, cut: float, _result: LoadResult, _risk: RiskResult) -> PremiumResponse:
    return model_response(_result.policies, _risk, target=Target.from_dict(json.loads(target_json)), premium_cut=cut)


def _cached_response(choice: DataSetChoice, result: LoadResult, risk: RiskResult, scenario: Scenario) -> PremiumResponse:
    """The lapse model's response to the scenario's premium cut on its target."""
    target_json = json.dumps(scenario.target.to_dict(), ensure_ascii=False, sort_keys=True)
    return _response(f"{dataset_key(choice)}|{risk.options!r}", target_json, scenario.effect.premium_cut, result, risk)


@st.cache_data(max_entries=16, show_spinner=False)
def _campaign_columns(key: str, _result: LoadResult) -> list[str]:
    return columns_of_campaigns(_result.policies)


def campaign_columns(choice: DataSetChoice, result: LoadResult) -> list[str]:
    """Columns whose values split policies into a treated and a control arm of 30 or more each."""
    return _campaign_columns(dataset_key(choice), result)


def projection(choice: DataSetChoice, result: LoadResult, scenario: Scenario) -> ScenarioResult | None:
    """One scenario projected with its cached inputs; ``None`` while the lapse model it needs is still training.

    A measured effect travels with the scenario (``with_measured_effect`` saved its hazard
    ratio and interval), so a saved or shared scenario keeps its own campaign's figures.
    """
    response = None
    if scenario.needs_model:
        risk = ui_risk.model_for(choice, result, ui_risk.options_for(choice, result))
        if risk is None:
            return None
        response = _cached_response(choice, result, risk, scenario)
    return project_scenario(
        result.policies, scenario, study_date=result.study_date, baseline=baseline(choice, result, scenario), response=response
    )


def encode(scenarios: list[dict[str, object]]) -> str:
    """The scenario set as a short URL-safe text."""
    text = json.dumps(scenarios, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


#: A share link's scenario text is at most this many characters (four scenarios take about 1,500) …
MAX_LINK_CHARS = 8_000


def decode(text: str) -> list[dict[str, object]]:
    """The scenario set from :func:`encode`'s text; a damaged or oversized link raises ExtractError.

    Anyone can write a link: its length is checked before it is decoded, and it is inflated
    to at most :data:`~analysis.interventions.scenario.MAX_SCENARIO_JSON_BYTES` bytes (a
    65 KB link once inflated to a 50 MB name). The JSON then passes the same checks as an
    uploaded file, and every scenario the same bounds as the page's inputs.
    """
    if len(text) > MAX_LINK_CHARS:
        raise ExtractError("bad_scenario", reason="link_too_long", size=f"{len(text):,}", limit=f"{MAX_LINK_CHARS:,}")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.urlsafe_b64decode(text.encode("ascii")), MAX_SCENARIO_JSON_BYTES + 1)
    except (binascii.Error, zlib.error, UnicodeError, ValueError) as exc:
        raise ExtractError("bad_scenario", reason="link") from exc
    if inflater.unconsumed_tail or len(raw) > MAX_SCENARIO_JSON_BYTES:
        raise ExtractError("bad_scenario", reason="too_long", size=f"> {MAX_SCENARIO_JSON_BYTES:,}", limit=f"{MAX_SCENARIO_JSON_BYTES:,}")
    scenarios = guarded_scenarios(raw)  # its own refusals name what is wrong (nesting, digits, a bound)
    return [scenario_to_dict(s) for s in scenarios][:MAX_SCENARIOS]


def saved() -> list[dict[str, object]]:
    """The session's scenario set, first taken from the URL when the page opens with one."""
    if SCENARIOS not in st.session_state:
        st.session_state[SCENARIOS] = []
        text = st.query_params.get(URL_PARAM)
        if text:
            try:
                st.session_state[SCENARIOS] = decode(text)
            except ExtractError as exc:
                st.session_state["interv_bad_link"] = True
                st.session_state[BAD_LINK_ERROR] = exc.bare()  # the page says what was wrong
                del st.query_params[URL_PARAM]  # not read again on the next click
    value: list[dict[str, object]] = st.session_state[SCENARIOS]
    return value


def store(scenarios: list[dict[str, object]]) -> None:
    """Keep the scenario set in the session and in the URL."""
    st.session_state[SCENARIOS] = scenarios[:MAX_SCENARIOS]
    if scenarios:
        st.query_params[URL_PARAM] = encode(scenarios[:MAX_SCENARIOS])
    elif URL_PARAM in st.query_params:
        del st.query_params[URL_PARAM]


def scenarios() -> list[Scenario]:
    """The saved set as scenarios (one that no longer checks is dropped)."""
    out = []
    for data in saved():
        try:
            out.append(scenario_from_dict(data))
        except ExtractError:
            continue
    return out


def arms_frame(result: CampaignResult, names: dict[str, str]) -> pd.DataFrame:
    """The window table with the arms named in the page's language."""
    return result.window.assign(arm=result.window["arm"].map(lambda a: names.get(str(a), str(a))))
