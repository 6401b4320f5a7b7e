"""The command line's ``campaign FILE --campaign-list LIST``: every arm of a campaign list against its control.

The list is read through the guard with its row account
(:func:`analysis.interventions.campaign_list.read_campaign_list`), each policy's clock starts
at its own enrolment (:func:`analysis.interventions.staggered.enrolled_data`) and every
treated arm is compared with the control (:func:`analysis.interventions.multi_arm.evaluate_arms`).

``--format json`` prints one object: ``control``, ``correction`` (``holm``; the adjusted
intervals are Bonferroni's), the list's row ``account`` (counts by outcome and reason, and
the rejected rows with their source row numbers), ``arms`` (window lapse per arm),
``comparisons`` — per arm against the control (then the pairs when ``--pairwise``) with the
keys of a two-arm campaign column (``treated``, ``control``, ``lapse_treated``,
``lapse_control``, ``difference`` and its interval, ``hazard_ratio`` and its interval) and
the comparison's own (``arm``, ``reference``, ``p_value``, ``p_value_holm``, the adjusted
interval) — the ``ranking`` by effect and by value per contact, and ``best_value_arm``.
A list with one treated arm also carries that comparison's keys at the top level, as the
campaign column's output does. The CSV form prints the comparisons and words the row
account on standard error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any, Callable

from analysis.errors import ExtractError
from analysis.ingest.pipeline import LoadResult
from analysis.report.catalogue import translate
from analysis.report.export import inert_json

if TYPE_CHECKING:
    import pandas as pd

#: The comparison's columns under the names a two-arm campaign column's output uses.
TWO_ARM_KEYS = {"policies": "treated", "reference_policies": "control", "lapse": "lapse_treated", "reference_lapse": "lapse_control"}
#: Rejected rows listed in the JSON at most (the counts cover them all).
MAX_LISTED_ROWS = 1_000


def add_arguments(campaign: argparse.ArgumentParser) -> None:
    """The campaign list's options of the ``campaign`` command."""
    campaign.add_argument(
        "--campaign-list",
        help="a campaign list (活动名单: 保单号, 组别, 入组日期[, 渠道, 成本]) — a file, or a database URL or spark:NAME with "
        "--list-table/--list-query; each policy's clock starts at its enrolment",
    )
    campaign.add_argument("--list-sheet", help="the campaign list's workbook sheet (default: the first)")
    campaign.add_argument(
        "--list-table", help="the campaign list's table in the database of --campaign-list (default: the book's own --source, or Spark)"
    )
    campaign.add_argument("--list-query", help="an SQL query that returns the campaign list, instead of a table")
    campaign.add_argument("--control-arm", help="the list's control arm (default: the arm named 对照组/control …)")
    campaign.add_argument("--pairwise", action="store_true", help="also compare the treated arms with each other")
    campaign.add_argument(
        "--value-per-retained",
        type=float,
        help="value of a retained policy (yuan), for the value per contact (default, as on the page: 10 %% of five years' "
        "mean premium of the enrolled policies, else 3,000)",
    )
    campaign.add_argument("--cost-per-contact", type=float, help="cost of one contact (yuan; default: the list's 成本 column per arm)")


def _finite(value: Any) -> Any:
    """NaN, infinities and pandas' missing as JSON null; numpy scalars as Python numbers."""
    import pandas as pd

    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _finite(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def list_summary(result: Any, account: pd.DataFrame, counts: dict[str, int]) -> dict[str, Any]:
    """The JSON object of the module docstring from an :class:`~analysis.interventions.multi_arm.ArmsResult`."""
    comparisons = result.comparisons.rename(columns=TWO_ARM_KEYS)
    rejected = account[account["outcome"] == "rejected"].head(MAX_LISTED_ROWS)
    out: dict[str, Any] = {
        "control": result.control,
        "correction": result.correction,
        "account": {**counts, "rejected_rows": _records(rejected[["row", "policy_id", "arm", "reason"]])},
        "arms": _records(result.arms),
        "comparisons": _records(comparisons),
        "ranking": _records(result.ranking),
        "best_value_arm": result.best_value_arm,
    }
    against = comparisons[comparisons["reference"] == result.control]
    if len(against) == 1:
        out = {**_records(against)[0], **out}
    return out


def list_source(args: argparse.Namespace) -> Any:
    """What ``--campaign-list``, ``--list-table`` and ``--list-query`` name: a file, a database or lake table, or None."""
    from analysis.engine.side_sources import named_side_source

    return named_side_source(
        getattr(args, "campaign_list", None),
        table=getattr(args, "list_table", None),
        query=getattr(args, "list_query", None),
        book_source=args.source,
        engine=args.engine,
        flags=("--campaign-list", "--list-table", "--list-query"),
    )


def run_campaign_list(args: argparse.Namespace, load: Callable[[argparse.Namespace], LoadResult]) -> int:
    """``campaign FILE --campaign-list LIST``: read both, evaluate every arm, print JSON or CSV."""
    from analysis.interventions.campaign_list import read_campaign_list
    from analysis.interventions.multi_arm import evaluate_arms
    from analysis.interventions.staggered import enrolled_data
    from analysis.interventions.targeting import DEFAULT_VALUE_PER_RETAINED, value_per_retained_default

    if getattr(args, "treatment", None):
        raise ExtractError("bad_option", reason="campaign_list_and_treatment")
    if args.start:
        raise ExtractError("bad_option", reason="campaign_list_and_start")
    listed = read_campaign_list(list_source(args) or "", sheet=args.list_sheet, control=args.control_arm)
    loaded = load(args)
    data, listed = enrolled_data(loaded.policies, listed, study_date=loaded.study_date, window_months=args.window_months)
    value = args.value_per_retained
    if value is None:  # the page's default: a share of the enrolled policies' premiums, else the offered figure
        value = value_per_retained_default(loaded.policies, data) or DEFAULT_VALUE_PER_RETAINED
    result = evaluate_arms(
        data,
        control=listed.control,
        pairwise=args.pairwise,
        value_per_retained=value,
        cost_per_contact=args.cost_per_contact,
        random_state=0,
    )
    summary = list_summary(result, listed.account, listed.counts()) | {"value_per_retained": value}
    if args.format == "json":
        print(json.dumps(inert_json(summary), ensure_ascii=False))
        return 0
    from analysis.report.export import neutralise

    for reason, count in summary["account"].items():
        if reason not in ("rows", "accepted", "repaired", "rejected", "rejected_rows"):
            print(f"{count:,} {translate(f'kind.{reason}', 'en')}", file=sys.stderr)
    sys.stdout.write(neutralise(result.comparisons.rename(columns=TWO_ARM_KEYS)).to_csv(index=False))
    return 0
