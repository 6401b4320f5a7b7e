"""The command line's ``worklist FILE``: the action lists, or the day's calls a team can work.

Without options the command writes both action lists whole (:func:`analysis.risk.actions.action_lists`).
With any of ``--capacity N``, ``--branch X``, ``--agent Y``, ``--risk-band B`` it writes what the
Actions page hands the service team: the due list narrowed to those branches, agents and risk
bands and cut at the day's capacity, best first by expected premium at risk
(:func:`analysis.risk.worklist.worklist`), beside the reinstatable list. ``--branch``,
``--agent`` and ``--risk-band`` may be given more than once (any of them matches); a branch or
agent the book does not have is refused with the values it does have, so a typo does not
quietly hand over an empty list.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Callable, Final

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.risk.actions import DUE_WITHIN_DAYS
from analysis.risk.worklist import RISK_BANDS, WorklistRequest

if TYPE_CHECKING:
    import pandas as pd

    from analysis.ingest.pipeline import LoadResult
    from analysis.risk.model import RiskResult

#: Values of the book named in the refusal of a branch or agent it does not have, at most.
MAX_OFFERED: Final = 10
#: The filter options and the column each narrows.
FILTERS: Final = {"branch": S.BRANCH, "agent": S.AGENT}


def add_command_arguments(worklist: argparse.ArgumentParser) -> None:
    """The ``worklist`` command's own options: the due window, identifiers shown, and the day's request (:func:`add_arguments`)."""
    worklist.add_argument(
        "--days", type=int, default=DUE_WITHIN_DAYS, help=f"list policies due within this many days (default {DUE_WITHIN_DAYS})"
    )
    worklist.add_argument("--show-identifiers", action="store_true", help="do not mask names, phone and ID numbers")
    add_arguments(worklist)


def add_arguments(worklist: argparse.ArgumentParser) -> None:
    """The day's request: capacity, branches, agents and risk bands (the ``queue assign`` command takes them too)."""
    worklist.add_argument(
        "--capacity", type=int, help="calls the team can make: the top this many by expected premium at risk (0: all matching)"
    )
    worklist.add_argument("--branch", action="append", default=[], help="only this branch (管理机构); repeat for several")
    worklist.add_argument("--agent", action="append", default=[], help="only this agent (代理人); repeat for several")
    worklist.add_argument(
        "--risk-band", action="append", default=[], choices=list(RISK_BANDS), help="only this risk band; repeat for several"
    )


def requested(args: argparse.Namespace, policies: pd.DataFrame) -> WorklistRequest | None:
    """The day's request the options make, checked against the book; None when none is given (both lists whole)."""
    capacity = getattr(args, "capacity", None)
    branches, agents, bands = (tuple(getattr(args, name, None) or ()) for name in ("branch", "agent", "risk_band"))
    if capacity is None and not (branches or agents or bands):
        return None
    if capacity is not None and capacity < 0:
        raise ExtractError("bad_option", reason="worklist_capacity", capacity=capacity)
    for option, wanted in (("branch", branches), ("agent", agents)):
        if wanted:
            _check_values(policies, option, wanted)
    return WorklistRequest(capacity=capacity or None, branches=branches, agents=agents, bands=bands)


def _check_values(policies: pd.DataFrame, option: str, wanted: tuple[str, ...]) -> None:
    """Refuse a filter on a column the book lacks, or a value none of its policies has."""
    column = FILTERS[option]
    if column not in policies.columns:
        raise ExtractError("missing_column", reason="in_policies", column=column)
    present = policies[column].dropna().astype("string")
    known = set(present.unique().tolist())
    for value in wanted:
        if value not in known:
            offered = sorted(known)[:MAX_OFFERED]
            more = "" if len(known) <= MAX_OFFERED else ", …"
            raise ExtractError("bad_option", reason="worklist_value", option=f"--{option}", value=value, offered=", ".join(offered) + more)


def run_worklist(args: argparse.Namespace, load: Callable[[argparse.Namespace], LoadResult]) -> int:
    """Write the ``worklist`` command's workbook: both lists whole, or the day's calls when asked (:func:`requested`).

    ``load`` reads the book the command names (the command line's own loader).
    """
    from pathlib import Path

    from analysis.risk.actions import action_lists
    from analysis.risk.model import default_risk
    from analysis.risk.words import worklist_workbook

    if args.days < 0:
        raise ExtractError("bad_option", reason="worklist_days", days=args.days)
    loaded = load(args)
    request = requested(args, loaded.policies)
    result = default_risk(loaded.policies, loaded.study_date)
    clock = {"days": args.days, "grace_days": loaded.preset.grace_days, "reinstatement_years": loaded.preset.reinstatement_years}
    if request is None:
        due, back = action_lists(loaded.policies, result, **clock)
    else:
        due, back = day_lists(loaded, result, request, days=args.days, language=args.lang)
    data = worklist_workbook(
        due,
        back,
        study_date=loaded.study_date,
        horizon_months=result.options.horizon_months,
        language=args.lang,
        mask=not args.show_identifiers,
        scope=() if request is None else request_lines(request, args.lang),
        **clock,
    )
    Path(args.output).write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


def request_lines(request: WorklistRequest, language: str) -> list[str]:
    """The day's request in words, one line per part, to head the workbook's sheets as a page's filter does."""
    from analysis.report.catalogue import column_label, translate

    joiner = "、" if language == "zh" else ", "
    parts = [
        (column_label(FILTERS[option], language), chosen) for option, chosen in (("branch", request.branches), ("agent", request.agents))
    ]
    parts.append((translate("worklist.bands", language), tuple(translate(f"worklist.band.{b}", language) for b in request.bands)))
    if request.capacity is not None:
        parts.append((translate("worklist.capacity", language), (f"{request.capacity:,}",)))
    return [translate("filter.values_line", language, column=column, values=joiner.join(chosen)) for column, chosen in parts if chosen]


def day_lists(
    loaded: LoadResult, result: RiskResult, request: WorklistRequest, *, days: int, language: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's calls (context and risk band in words, as the page's workbook has them) and the reinstatable list."""
    from analysis.risk.actions import reinstatable_list
    from analysis.risk.worklist import worklist, worklist_in_words

    preset = loaded.preset
    calls = worklist(loaded.policies, result, request, days=days, grace_days=preset.grace_days).rows
    back = reinstatable_list(loaded.policies, loaded.study_date, reinstatement_years=preset.reinstatement_years)
    return worklist_in_words(calls, language, reasons=False), back
