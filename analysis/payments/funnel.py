"""The study month's collections funnel from real payments: due this month → paid → unpaid in grace → suspended → reinstated.

Without payments the funnel reads the paid-to date snapshot
(:func:`analysis.persistency.overview.collections_funnel`). With a payment history the first
three stages count the premiums themselves, one per policy and due date (a failed debit and its
retry are one due): ``due_this_month`` — dues from the first of the study month up to the study
date; ``paid`` — of those, received (earliest paid date) by the study date; ``in_grace`` — the
rest, unpaid and still inside the grace period (a due of this month is at most a month old, less
than any grace period); so ``due_this_month = paid + in_grace``. ``suspended_this_month`` and
``reinstated_this_month`` are events of the book (its lapse and reinstatement dates), as in the
snapshot funnel. Only policies of the book count (a history matched with
:func:`analysis.payments.table.match_payments` already holds no others). Counted in the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.dates import day_of
from analysis.engine.snapshot import FUNNEL_STAGES, book_status_expr
from analysis.engine.stays import with_days
from analysis.payments.table import DUE_DATE, PAID_DATE

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend


def payments_funnel(
    policies: pd.DataFrame | ir.Table,
    payments: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    backend: BaseBackend | None = None,
) -> pd.DataFrame:
    """``[stage, policies]`` in the order of :data:`analysis.engine.snapshot.FUNNEL_STAGES` (see the module docstring).

    Parameters
    ----------
    policies : DataFrame or ibis Table
        Canonical policies (``policy_id``, ``status`` and the dates of the snapshot funnel).
    payments : DataFrame or ibis Table
        ``policy_id``, ``due_date``, ``paid_date`` (null: not paid).
    study_date : Timestamp
        The extract's study date.
    backend : ibis backend, optional
        The engine a pandas book is bound to (DuckDB by default).
    """
    book, engine = bind(policies, backend)
    rows = payments[[S.POLICY_ID, DUE_DATE, PAID_DATE]] if isinstance(payments, pd.DataFrame) else payments
    paid_rows, _ = bind(rows, engine)
    study = pd.Timestamp(study_date)
    first, today = day_of(study.to_period("M").to_timestamp()), day_of(study)
    staged = with_days(paid_rows, [DUE_DATE, PAID_DATE])
    dues = staged.filter((staged[f"{DUE_DATE}_day"] >= first) & (staged[f"{DUE_DATE}_day"] <= today))
    dues = dues.group_by([S.POLICY_ID, f"{DUE_DATE}_day"]).aggregate(paid_day=dues[f"{PAID_DATE}_day"].min())
    ids = book.select(book_policy=book[S.POLICY_ID]).distinct()
    dues = dues.join(ids, dues[S.POLICY_ID] == ids.book_policy)
    received = (dues.paid_day <= today).fill_null(False)
    counts = run(engine, dues.aggregate(due=dues.count(), paid=received.ifelse(1, 0).sum())).iloc[0]
    status = run(engine, book_status_expr(book, study_date=study)).iloc[0]
    due, paid = int(counts["due"]), int(0 if pd.isna(counts["paid"]) else counts["paid"])
    stages = [due, paid, due - paid, int(status["suspended_this_month_policies"]), int(status["reinstated_this_month_policies"])]
    return pd.DataFrame({"stage": list(FUNNEL_STAGES), "policies": stages})
