"""The command line's ``--payments FILE``: a payment history (缴费记录) read beside the extract.

``persistency FILE --payments PAYMENTS`` measures persistency on premiums received
(:mod:`analysis.payments.persistency`) instead of the in-force approximation; ``drivers FILE
--payments PAYMENTS`` adds the payment behaviour known at each as-of date to the lapse-risk
model's features (:mod:`analysis.payments.features`: late payments, the longest delay and failed
debits in the last 12 months, a change of method, months since the last late payment). The history is
read through the guard with its row account (:func:`analysis.payments.table.read_payments`)
and matched with the book (:func:`analysis.payments.table.match_payments`); the definition
used and the account (rows by outcome and reason, e.g. payments whose policy is not in the
book) are worded on standard error, so standard output stays the table.

The history may also be a table or query of a database or lake
(:mod:`analysis.engine.side_sources`): ``--payments postgresql://… --payments-table 缴费记录``,
or ``--payments-table 缴费记录`` alone for a table beside the book of ``--source`` (or of the
Spark engine's catalogue).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from analysis.payments.persistency import DEFINITION_KEYS, persistency_definition
from analysis.report.catalogue import translate

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.side_sources import SideSource
    from analysis.ingest.pipeline import LoadResult
    from analysis.payments.table import PaymentHistory
    from analysis.risk.model import RiskResult

#: The account's entries that are totals, not reasons.
TOTALS = ("rows", "accepted", "repaired", "rejected")


def add_arguments(command: argparse.ArgumentParser) -> None:
    """The payment history's options of a command."""
    command.add_argument(
        "--payments",
        help="a payment history (缴费记录: 保单号, 应缴日期, 实缴日期[, 金额, 缴费方式, 扣款失败]) — a file, or a database URL "
        "or spark:NAME with --payments-table/--payments-query: persistency on premiums received; payment behaviour among the risk drivers",
    )
    command.add_argument("--payments-sheet", help="the payment history's workbook sheet (default: the first)")
    command.add_argument(
        "--payments-table", help="the payment history's table in the database of --payments (default: the book's own --source, or Spark)"
    )
    command.add_argument("--payments-query", help="an SQL query that returns the payment history, instead of a table")


def payments_source(args: argparse.Namespace) -> str | SideSource | None:
    """What ``--payments``, ``--payments-table`` and ``--payments-query`` name: a file, a database or lake table, or None."""
    from analysis.engine.side_sources import named_side_source

    return named_side_source(
        getattr(args, "payments", None),
        table=getattr(args, "payments_table", None),
        query=getattr(args, "payments_query", None),
        book_source=args.source,
        engine=args.engine,
        flags=("--payments", "--payments-table", "--payments-query"),
    )


def matched_payments(
    args: argparse.Namespace, policies: Any, study_date: pd.Timestamp, backend: Any, *, says: str | None = None
) -> PaymentHistory | None:
    """The history named by ``--payments`` matched with the book, its account worded on standard error; None without it.

    ``says``: the catalogue key of the sentence telling what the history is used for (by
    default, the persistency definition it measures on).
    """
    from analysis.payments.table import match_payments, read_payments

    source = payments_source(args)
    if source is None:
        return None
    history = match_payments(read_payments(source, sheet=args.payments_sheet), policies, study_date=study_date, backend=backend)
    language = "en"
    print(translate(says or DEFINITION_KEYS[persistency_definition(history)], language), file=sys.stderr)
    counts = history.counts()
    print(
        translate("payments.account", language, rows=counts["rows"], rejected=counts["rejected"], repaired=counts["repaired"]),
        file=sys.stderr,
    )
    for reason, count in counts.items():
        if reason not in TOTALS:
            print(f"{count:,} {translate(f'kind.{reason}', language)}", file=sys.stderr)
    return history


def drivers_risk(args: argparse.Namespace, loaded: LoadResult) -> RiskResult:
    """The ``drivers`` command's model: the default features, and the payment behaviour when ``--payments`` names a history."""
    from analysis.risk.model import default_risk

    history = matched_payments(args, loaded.policies, loaded.study_date, None, says="risk.with_payments")
    return default_risk(loaded.policies, loaded.study_date, payments=history)
