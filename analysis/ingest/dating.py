"""Dates an extract leaves out or puts after the study date: exits and lapses dated by rule, future dates flagged.

Many 保单明细 carry a status and a paid-to date (交至日期) but no date of the status change
(DOMAIN.md §7). The door dates such an exit by a stated rule and records each as a repair
that names the rule (``exit_dated``):

* surrender, death and maturity at the paid-to date: the policy was paid to that day, so the
  exit came before the next premium (the paid-to date is an upper bound of the exit date);
* a free-look cancellation at the issue date + the free-look period (``free_look_days``, 15);
* a lapse (and a termination after lapse) at the paid-to date + grace + 1 day: the day after
  grace ends, counted from the premium it missed; so is the lapse behind a reinstated policy
  whose paid-to date places that day before the reinstatement.

A preset switches a rule off (:data:`~analysis.ingest.presets.EXIT_DATING_RULES`). Only an
exit left with no usable date is rejected (``exit_without_date``), its sentence naming the
dates it lacks.

The study date bounds every date (``date_after_study``). A date as written after it is
flagged and kept: every study (exposure, survival, persistency, risk) counts a policy in force
up to the study date and no event after it, so the change is treated as not yet happened
(censored at the study date). A date a rule gives after the study date is set to the study
date and said so: the status, as of the study date, says the exit had happened by then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.intake import Intake
from analysis.ingest.ledger import FLAGGED, REJECTED, REPAIRED
from analysis.ingest.presets import FREE_LOOK_EXITS, PAID_TO_EXITS, PAID_TO_LAPSES

#: Statuses of a policy that lapsed and was not (yet) reinstated: dated by their lapse.
LAPSED_STATUSES = (S.LAPSED, S.TERMINATED_AFTER_LAPSE)
#: Exits dated at the paid-to date when the extract has no status date for them.
PAID_TO_STATUSES = (S.SURRENDERED, S.DEATH_CLAIM, S.MATURED)
#: The date columns checked against the study date as written, and what a date after it does
#: to the row: a policy issued after the study date is left out, a later change only flagged.
STUDY_DATE_CHECKS = (
    (S.ISSUE_DATE, REJECTED),
    (S.STATUS_DATE, FLAGGED),
    (S.LAPSE_DATE, FLAGGED),
    (S.REINSTATEMENT_DATE, FLAGGED),
)


def check_study_date(intake: Intake) -> None:
    """Dates after the study date, as the extract gives them (before any date is derived by rule).

    Reads ``issue_date``, ``status_date`` (as written, or read off the duration column),
    ``lapse_date``, ``reinstatement_date`` and ``intake.study``. Rejects a policy issued after
    the study date; flags a status, lapse or reinstatement date after it and keeps the date,
    so that no study counts the change: the policy counts as in force up to the study date
    (censored there), and one reinstated after it stays lapsed from its lapse. All
    ``date_after_study``, the variant naming the column.
    """
    out, ledger, study = intake.out, intake.ledger, intake.study.date().isoformat()
    for column, action in STUDY_DATE_CHECKS:
        if column not in out:
            continue
        dates = out[column]
        ledger.add(
            (dates > intake.study).fillna(False),
            column=intake.label(column),
            kind="date_after_study",
            action=action,
            variant=column,
            value=dates,
            study=study,
        )


def derive_lapse_dates(intake: Intake) -> None:
    """The suspension date of lapsed, terminated-after-lapse and reinstated policies, where missing.

    Reads ``status``, ``lapse_date``, ``status_date``, ``paid_to_date``, ``reinstatement_date``,
    ``issue_date``, ``intake.study`` and the preset's grace period, reinstatement window and
    rule ``date_lapses_from_paid_to``. A lapsed policy lapsed on its status date; a policy
    terminated after lapse, a reinstatement window before it. Without a status date, the
    lapse is dated from the premium it missed, the paid-to date + grace + 1 day
    (``exit_dated``, variant ``lapse``); so is the lapse behind a reinstated policy when that
    day falls before its reinstatement date (variant ``reinstated``). A paid-to date before
    the issue date dates nothing. A day by rule after the study date is set to the study date
    (``date_after_study``, ``lapse_date_derived``). Writes the missing values of
    ``lapse_date`` (and notes how many); flags reinstated policies still without one
    (``reinstated_without_lapse``).
    """
    out, status, preset = intake.out, intake.out[S.STATUS], intake.preset
    lapse = out.get(S.LAPSE_DATE, intake.no_dates())
    derived = intake.no_dates()
    if S.STATUS_DATE in out:
        derived = derived.where((status != S.LAPSED).fillna(True), out[S.STATUS_DATE])
        terminated = (status == S.TERMINATED_AFTER_LAPSE).fillna(False)
        if terminated.any():
            derived = derived.where(~terminated, out[S.STATUS_DATE] - pd.DateOffset(years=preset.reinstatement_years))
    paid_to = _usable_paid_to(intake)
    missed = paid_to + pd.Timedelta(days=preset.grace_days + 1)
    reinstated_on = out.get(S.REINSTATEMENT_DATE, intake.no_dates())
    on = lapse.isna() & missed.notna() & preset.dates_by_rule(PAID_TO_LAPSES)
    lapsing = on & status.isin(list(LAPSED_STATUSES)).fillna(False) & derived.isna()
    back = on & (status == S.REINSTATED).fillna(False) & (missed < reinstated_on).fillna(False)
    if lapsing.any() or back.any():
        alive = _alive(intake)
        lapsing, back = lapsing & alive, back & alive
    grace = preset.grace_days
    label, raw = intake.label(S.STATUS), out[S.STATUS_RAW]
    intake.ledger.add(
        lapsing, column=label, kind="exit_dated", action=REPAIRED, variant="lapse", value=raw, date=missed, paid_to=paid_to, grace=grace
    )
    intake.ledger.add(
        back,
        column=label,
        kind="exit_dated",
        action=REPAIRED,
        variant="reinstated",
        value=raw,
        date=missed,
        paid_to=paid_to,
        grace=grace,
        reinstated=reinstated_on,
    )
    by_rule = _within_study(intake, missed, lapsing | back, S.LAPSE_DATE)
    derived = derived.where(~(lapsing | back), by_rule)
    fill = lapse.isna() & derived.notna() & status.isin([*LAPSED_STATUSES, S.REINSTATED]).fillna(False)
    if fill.any() or S.LAPSE_DATE in out:
        out[S.LAPSE_DATE] = lapse.where(~fill, derived)
        intake.ledger.note(S.LAPSE_DATE, "derived", int(fill.sum()), "lapse_date_derived", grace=grace)
    intake.ledger.add(
        (status == S.REINSTATED).fillna(False) & out.get(S.LAPSE_DATE, intake.no_dates()).isna(),
        column=intake.label(S.STATUS),
        kind="reinstated_without_lapse",
        action=FLAGGED,
    )


def date_exits(intake: Intake) -> None:
    """Surrenders, deaths, maturities and free-look cancellations without a status date, dated by rule.

    Reads ``status``, ``status_date``, ``paid_to_date``, ``issue_date``, ``intake.study`` and
    the preset's free-look period and rules ``date_exits_at_paid_to`` and
    ``date_free_look_at_issue``. A surrender, death or maturity is dated at its paid-to date
    (variant ``paid_to``: paid to that day, the exit came before the next premium; a paid-to
    date before the issue date dates nothing); a free-look cancellation at the issue date +
    the free-look period (variant ``free_look``); both ``exit_dated``. A day by rule after the
    study date is set to the study date (``date_after_study``, ``status_date_derived``).
    Writes those values of ``status_date`` (the column is made when the extract has none)
    and notes how many.
    """
    out, status, preset = intake.out, intake.out[S.STATUS], intake.preset
    current = out.get(S.STATUS_DATE, intake.no_dates())
    undated = current.isna() & status.isin([*PAID_TO_STATUSES, S.FREE_LOOK_CANCELLED]).fillna(False)
    if not undated.any():
        return
    undated &= _alive(intake)
    paid_to = _usable_paid_to(intake)
    free_look_end = out[S.ISSUE_DATE] + pd.Timedelta(days=preset.free_look_days)
    at_paid_to = undated & status.isin(list(PAID_TO_STATUSES)).fillna(False) & paid_to.notna() & preset.dates_by_rule(PAID_TO_EXITS)
    free_look = undated & (status == S.FREE_LOOK_CANCELLED).fillna(False) & preset.dates_by_rule(FREE_LOOK_EXITS)
    label, raw = intake.label(S.STATUS), out[S.STATUS_RAW]
    intake.ledger.add(at_paid_to, column=label, kind="exit_dated", action=REPAIRED, variant="paid_to", value=raw, date=paid_to)
    intake.ledger.add(
        free_look,
        column=label,
        kind="exit_dated",
        action=REPAIRED,
        variant="free_look",
        value=raw,
        date=free_look_end,
        days=preset.free_look_days,
    )
    dated = at_paid_to | free_look
    if dated.any():
        exit_day = paid_to.where(at_paid_to, free_look_end)
        exit_day = _within_study(intake, exit_day, dated, S.STATUS_DATE)
        out[S.STATUS_DATE] = current.where(~dated, exit_day)
        intake.ledger.note(intake.label(S.STATUS_DATE), "derived", int(dated.sum()), "exit_dates_by_rule", free_look=preset.free_look_days)


def check_exits(intake: Intake) -> None:
    """An exit needs a date, or every study would count the policy as still in force.

    Reads ``status``, ``status_date``, ``lapse_date``, ``paid_to_date``, ``issue_date``,
    ``observed_to`` and the preset's exit-dating rules. Rejects a policy with an exit status
    that no date places (no status date; for a lapse no lapse date either; and no end of
    observation) once the rules of :func:`derive_lapse_dates` and :func:`date_exits` have
    run (``exit_without_date``). The variant says truthfully what is missing: the paid-to
    date too (``no_status_or_paid_to``, ``no_lapse_or_paid_to``), a paid-to date before the
    issue date (``paid_to_before_issue``), or a rule the preset switched off
    (``paid_to_rule_off``, ``free_look_rule_off``, ``lapse_rule_off``).
    """
    out, status, preset = intake.out, intake.out[S.STATUS], intake.preset
    lapse = out.get(S.LAPSE_DATE, intake.no_dates())
    exit_day = out.get(S.STATUS_DATE, intake.no_dates())
    lapsed = status.isin(list(LAPSED_STATUSES)).fillna(False)
    exit_day = exit_day.where(~lapsed, lapse.fillna(exit_day))
    undated = status.isin(list(S.EXIT_STATUSES)).fillna(False) & exit_day.isna()
    if S.OBSERVED_TO in out:
        undated &= out[S.OBSERVED_TO].isna()
    if not undated.any():
        return
    undated &= _alive(intake)
    paid_to = out.get(S.PAID_TO_DATE, intake.no_dates())
    before_issue = (paid_to < out[S.ISSUE_DATE]).fillna(False)
    at_paid_to = status.isin(list(PAID_TO_STATUSES)).fillna(False)
    free_look = (status == S.FREE_LOOK_CANCELLED).fillna(False)
    cases = (
        ("lapse_rule_off", lapsed & (not preset.dates_by_rule(PAID_TO_LAPSES))),
        ("paid_to_rule_off", at_paid_to & (not preset.dates_by_rule(PAID_TO_EXITS))),
        ("free_look_rule_off", free_look & (not preset.dates_by_rule(FREE_LOOK_EXITS))),
        ("paid_to_before_issue", (lapsed | at_paid_to) & before_issue),
        ("no_lapse_or_paid_to", lapsed),
        ("no_status_or_paid_to", at_paid_to),
    )
    left = undated.copy()
    for variant, case in cases:
        mask = left & case
        dates = {"paid_to": paid_to, "issue": out[S.ISSUE_DATE]} if variant == "paid_to_before_issue" else {}
        intake.ledger.add(
            mask,
            column=intake.label(S.STATUS),
            kind="exit_without_date",
            action=REJECTED,
            variant=variant,
            value=out[S.STATUS_RAW],
            **dates,
        )
        left &= ~mask


def _alive(intake: Intake) -> pd.Series:
    """True for the rows not rejected so far, which have an issue date (no rule dates a row already left out)."""
    alive = np.ones(len(intake.rows), dtype=bool)
    alive[intake.ledger.rejected_positions()] = False
    return pd.Series(alive, index=intake.cells.index) & intake.out[S.ISSUE_DATE].notna()


def _usable_paid_to(intake: Intake) -> pd.Series:
    """The paid-to dates a rule may date from: none before the issue date."""
    paid_to = intake.out.get(S.PAID_TO_DATE, intake.no_dates())
    return paid_to.where(~(paid_to < intake.out[S.ISSUE_DATE]).fillna(False))


def _within_study(intake: Intake, days: pd.Series, by_rule: pd.Series, column: str) -> pd.Series:
    """``days`` with every day a rule gave (``by_rule``) after the study date set to the study date.

    Each such row is recorded on the status column, next to the rule that dated it; the
    variant (``<column>_derived``) names the date column written.
    """
    late = by_rule & (days > intake.study).fillna(False)
    intake.ledger.add(
        late,
        column=intake.label(S.STATUS),
        kind="date_after_study",
        action=REPAIRED,
        variant=f"{column}_derived",
        value=days,
        study=intake.study.date().isoformat(),
    )
    return days.where(~late, intake.study)
