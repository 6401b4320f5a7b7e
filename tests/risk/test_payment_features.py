"""Payment behaviour as risk drivers: pinned by hand and against a plain-Python rebuild on both engines, no leakage, in the model."""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.util

import numpy as np
import pandas as pd
import pytest
from jobs import wait_for_jobs

from analysis import schema as S
from analysis.engine.dates import day_of
from analysis.payments.features import (
    FAILED_DEBITS,
    LATE_AFTER_DAYS,
    LATE_PAYMENTS,
    MAX_DELAY,
    METHOD_CHANGED,
    MONTHS_SINCE_LATE,
    PAYMENT_FEATURES,
    WINDOW_MONTHS,
    payment_features,
)
from analysis.payments.table import DUE_DATE, FAILED_DEBIT, METHOD, METHODS, PAID_DATE
from analysis.risk.actions import lever_for
from analysis.risk.rows import scoring_rows, training_dates, training_rows
from analysis.risk.words import reason_text

GRACE = S.GRACE_DAYS


def _history(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[S.POLICY_ID, DUE_DATE, PAID_DATE, METHOD, FAILED_DEBIT])
    return frame.assign(
        **{
            DUE_DATE: pd.to_datetime(frame[DUE_DATE]),
            PAID_DATE: pd.to_datetime(frame[PAID_DATE]),
            METHOD: frame[METHOD].astype("string"),
            FAILED_DEBIT: frame[FAILED_DEBIT].astype("boolean"),
        }
    )


#: A hand-made history (as-of dates 2023-01-01 and 2023-07-01; the window of 2023-07-01 starts 2022-07-01).
#: A (monthly, bank transfer): paid on time except 2022-09-15 paid 2022-10-20 (35 days: late) and 2023-03-15
#:   paid 2023-03-30 (15 days: late); 2023-06-15 unpaid (inside its grace on 2023-07-01: not seen); switched
#:   to online from 2023-04-15. At 2023-07-01: 2 late, longest 35, method changed, last late known 2023-03-30
#:   → 3 whole months. At 2023-01-01: 1 late (2022-10-20), longest 35, no change, 2 months (20 Oct → 1 Jan).
#: B (annual, auto-debit): 2022-05-10 debit failed and was retried 2022-05-25 (15 days: late and a failed
#:   debit, one due), 2023-05-10 paid on its day. At 2023-07-01 the 2022-05-25 retry is before the window:
#:   0 late, 0 failed, longest 0 (the 2023 due), 13 months since late; at 2023-01-01: 1 late, 1 failed, 15, 7 months.
#: C: a due of 2022-11-01 never paid, known late on 2022-12-31 (due + 60 days): at 2023-01-01 1 late, longest
#:   60, 0 months; paid on 2023-03-01 (a reinstatement): still known late from 2022-12-31, longest 60.
#: D: paid 2023-07-05, after the as-of date: not seen; E has no payment row: zeros and blanks.
HAND = _history(
    [
        *[("A", f"2022-{m:02d}-15", f"2022-{m:02d}-15", "bank_transfer", False) for m in (7, 8, 10, 11, 12)],
        ("A", "2022-09-15", "2022-10-20", "bank_transfer", False),
        ("A", "2023-01-15", "2023-01-14", "bank_transfer", False),
        ("A", "2023-02-15", "2023-02-15", "bank_transfer", False),
        ("A", "2023-03-15", "2023-03-30", "bank_transfer", False),
        ("A", "2023-04-15", "2023-04-15", "online", False),
        ("A", "2023-05-15", "2023-05-15", "online", False),
        ("A", "2023-06-15", None, None, False),
        ("B", "2022-05-10", "2022-05-25", "auto_debit", True),
        ("B", "2023-05-10", "2023-05-10", "auto_debit", False),
        ("C", "2022-11-01", "2023-03-01", "cash", False),
        ("D", "2023-06-20", "2023-07-05", "cash", False),
    ]
)
HAND_EXPECTED = {
    # (policy, as-of): (late, longest delay, failed, changed, months since late)
    ("A", "2023-07-01"): (2, 35, 0, True, 3.0),
    ("A", "2023-01-01"): (1, 35, 0, False, 2.0),
    ("B", "2023-07-01"): (0, 0, 0, False, 13.0),
    ("B", "2023-01-01"): (1, 15, 1, False, 7.0),
    ("C", "2023-01-01"): (1, 60, 0, False, 0.0),
    ("C", "2023-07-01"): (1, 60, 0, False, 6.0),
    ("D", "2023-07-01"): (0, 0, 0, False, np.nan),
    ("E", "2023-07-01"): (0, 0, 0, False, np.nan),
}


def _pairs(keys) -> pd.DataFrame:
    return pd.DataFrame({S.POLICY_ID: [p for p, _ in keys], "as_of_day": [day_of(a) for _, a in keys]})


def test_a_hand_made_history(engine) -> None:
    pairs = _pairs(HAND_EXPECTED)
    got = payment_features(pairs, HAND, backend=engine)
    assert list(got.columns) == list(PAYMENT_FEATURES) and (got.index == pairs.index).all()
    for (key, expected), row in zip(HAND_EXPECTED.items(), got.itertuples(index=False)):
        assert tuple(row)[:4] == expected[:4], key
        assert (np.isnan(row[4]) and np.isnan(expected[4])) or row[4] == expected[4], key
    assert got[LATE_PAYMENTS].dtype == np.int64 and got[MAX_DELAY].dtype == np.int64 and got[METHOD_CHANGED].dtype == bool


# --- a plain-Python rebuild -------------------------------------------------------------------


def _plus_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _whole_months(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (end.day < min(start.day, calendar.monthrange(end.year, end.month)[1]))


def _rebuild(history: pd.DataFrame, pairs: list[tuple[str, dt.date]]) -> list[tuple]:
    """Due by due in plain Python, from the definitions in analysis/payments/features.py."""
    dues: dict[str, dict[dt.date, list]] = {}
    for pid, due, paid, method, failed in history[[S.POLICY_ID, DUE_DATE, PAID_DATE, METHOD, FAILED_DEBIT]].itertuples(index=False):
        dues.setdefault(str(pid), {}).setdefault(due.date(), []).append(
            (
                None if pd.isna(paid) else paid.date(),
                None if pd.isna(method) else str(method),
                bool(failed) if not pd.isna(failed) else False,
            )
        )
    out = []
    for pid, as_of in pairs:
        start = _plus_months(as_of, -WINDOW_MONTHS)
        late = failed = longest = 0
        last_late = None
        paid_by: list[tuple[dt.date, int]] = []
        for due, rows in dues.get(pid, {}).items():
            end = due + dt.timedelta(days=GRACE)
            known = [min(paid, end) if paid is not None else end for paid, _, _ in rows]
            day = min(known)
            delay = max((day - due).days, 0)
            failed_days = [k for k, (_, _, flag) in zip(known, rows) if flag]
            if failed_days and start <= min(failed_days) < as_of:
                failed += 1
            first_paid = min(((paid, METHODS.index(method)) for paid, method, _ in rows if paid is not None and method), default=None)
            if first_paid is not None:
                paid_by.append(first_paid)
            if day >= as_of:
                continue
            if delay > LATE_AFTER_DAYS:
                last_late = day if last_late is None else max(last_late, day)
            if day >= start:
                late += delay > LATE_AFTER_DAYS
                longest = max(longest, delay)
        before = [p for p in paid_by if p[0] < start]
        inside = {code for day, code in paid_by if start <= day < as_of}
        codes = inside | ({max(before)[1]} if before and inside else set())
        months = float(_whole_months(last_late, as_of)) if last_late is not None else np.nan
        out.append((late, longest, failed, len(codes) >= 2, months))
    return out


def test_the_rebuild_reads_the_hand_made_history_as_the_comments_do() -> None:
    keys = list(HAND_EXPECTED)
    rebuilt = _rebuild(HAND, [(p, dt.date.fromisoformat(a)) for p, a in keys])
    for key, row in zip(keys, rebuilt):
        expected = HAND_EXPECTED[key]
        assert row[:4] == expected[:4] and (row[4] == expected[4] or (np.isnan(row[4]) and np.isnan(expected[4]))), key


@pytest.fixture(scope="module")
def sample(artefacts):
    """The sample and its payment history matched with it (tests/artefacts.py: built once per test run)."""
    return artefacts.loaded(), artefacts.history()


def _part(sample, step: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    loaded, history = sample
    policies = loaded.policies.iloc[::step]
    ids = set(policies[S.POLICY_ID].astype(str))
    return policies, history.payments[history.payments[S.POLICY_ID].isin(ids)].reset_index(drop=True)


def test_the_sample_equals_a_plain_python_rebuild(engine, sample) -> None:
    loaded, _ = sample
    policies, payments = _part(sample, 40)  # 1,250 policies keep the Spark run short
    dates = [*training_dates(loaded.policies, loaded.study_date), loaded.study_date]
    pairs = [(str(p), d.date()) for d in dates for p in policies[S.POLICY_ID]]
    frame = pd.DataFrame({S.POLICY_ID: [p for p, _ in pairs], "as_of_day": [day_of(d) for _, d in pairs]})
    got = payment_features(frame, payments, backend=engine)
    expected = pd.DataFrame(_rebuild(payments, pairs), columns=list(PAYMENT_FEATURES))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    assert got[LATE_PAYMENTS].sum() > 100 and got[FAILED_DEBITS].sum() > 10 and got[MONTHS_SINCE_LATE].notna().sum() > 100


def test_a_payment_after_the_as_of_date_never_changes_the_features(engine, sample) -> None:
    """Rewrite what happens on or after the as-of date: paid dates, their methods, flags of rows not known yet, new dues."""
    policies, payments = _part(sample, 50)
    as_of = pd.Timestamp("2024-03-01")
    rng = np.random.default_rng(5)
    later = (payments[PAID_DATE] >= as_of).to_numpy()
    not_known_yet = later & (payments[DUE_DATE] + pd.Timedelta(days=GRACE) >= as_of).to_numpy()
    changed = payments.copy()
    shift = pd.to_timedelta(rng.integers(0, 400, size=int(later.sum())), unit="D")
    changed.loc[later, PAID_DATE] = (as_of + shift).where(rng.random(int(later.sum())) < 0.7)
    changed.loc[later, METHOD] = "cash"
    changed.loc[not_known_yet, FAILED_DEBIT] = True
    unpaid_in_grace = changed[PAID_DATE].isna() & (changed[DUE_DATE] + pd.Timedelta(days=GRACE) >= as_of)
    changed.loc[unpaid_in_grace, PAID_DATE] = as_of + pd.Timedelta(days=3)
    future = (changed[DUE_DATE] >= as_of) & ~(changed[PAID_DATE] < as_of)
    changed = changed[~(future & (rng.random(len(changed)) < 0.5))]
    extra = changed.sample(n=200, random_state=1).assign(**{DUE_DATE: as_of + pd.Timedelta(days=10), PAID_DATE: as_of, FAILED_DEBIT: True})
    changed = pd.concat([changed, extra], ignore_index=True)
    pairs = pd.DataFrame({S.POLICY_ID: policies[S.POLICY_ID].astype(str).to_numpy(), "as_of_day": day_of(as_of)})
    before = payment_features(pairs, payments, backend=engine)
    after = payment_features(pairs, changed, backend=engine)
    pd.testing.assert_frame_equal(before, after)
    assert before[LATE_PAYMENTS].sum() > 0 and later.sum() > 100 and not_known_yet.sum() > 100  # the test has something to change


# --- the training and scoring rows, the model and its reasons -----------------------------------


def test_training_and_scoring_rows_carry_the_features_known_at_their_date(sample) -> None:
    loaded, history = sample
    policies, payments = _part(sample, 10)
    dates = training_dates(loaded.policies, loaded.study_date)[:3]
    plain = training_rows(policies, as_of=dates)
    rows = training_rows(policies, as_of=dates, payments=payments)
    assert list(rows.columns) == [*plain.columns[:-2], *PAYMENT_FEATURES, "as_of", "lapsed_within"]
    pd.testing.assert_frame_equal(rows[list(plain.columns)], plain)
    pairs = pd.DataFrame({S.POLICY_ID: rows["policy_id"].astype(str), "as_of_day": (rows["as_of"] - pd.Timestamp("1970-01-01")).dt.days})
    pd.testing.assert_frame_equal(rows[list(PAYMENT_FEATURES)], payment_features(pairs, payments))
    scores = scoring_rows(policies, loaded.study_date, payments=history)
    assert list(scores.columns) == [*scoring_rows(policies, loaded.study_date).columns, *PAYMENT_FEATURES]
    # Lapsing policies paid late more often in the year before (the sample's planted signal).
    assert (
        rows.groupby("lapsed_within")[LATE_PAYMENTS].mean().loc[True] > 3 * rows.groupby("lapsed_within")[LATE_PAYMENTS].mean().loc[False]
    )


def test_with_payments_a_payment_feature_leads_the_shap_ranking(sample_risk, payment_risk) -> None:
    """The planted effect (data/README.md, "The payment history") comes out on top; without payments nothing changed."""
    from analysis.risk.actions import reasons

    plain, risk = sample_risk[2], payment_risk
    assert not plain.with_payments and not set(PAYMENT_FEATURES) & set(plain.model.features)
    # Every sample policy keeps one payment method: the change never varies, so the model leaves it out.
    assert risk.with_payments and set(PAYMENT_FEATURES) - {METHOD_CHANGED} <= set(risk.model.features)
    ranking = risk.explained.importance["feature"].tolist()
    assert ranking[0] in PAYMENT_FEATURES, ranking[:5]
    assert risk.model.metrics["auc"] > plain.model.metrics["auc"] + 0.05
    # The reasons an agent reads: a policy with late payments hears about them, and the lever follows.
    late = risk.scores[risk.scores[LATE_PAYMENTS] >= 2].head(50)
    why = reasons(risk, late)
    named = why[["reason_1_feature", "reason_2_feature", "reason_3_feature"]].isin(PAYMENT_FEATURES).any(axis=1)
    assert named.mean() > 0.8
    first = why[why["reason_1_feature"].isin([LATE_PAYMENTS, MONTHS_SINCE_LATE, MAX_DELAY])]
    auto = late.loc[first.index, S.AUTO_DEBIT].astype(str) == "True"
    assert (first["lever"] == np.where(auto, "reminder", "auto_debit")).all() and len(first) > 0


def test_payment_reasons_and_levers_in_words() -> None:
    assert reason_text(LATE_PAYMENTS, 3, 0.041, "zh") == "近 12 个月逾期缴费次数为3 次：失效概率 +4.1 个百分点"
    assert reason_text(MAX_DELAY, 45.0, 0.02, "en") == "Longest payment delay in the last 12 months 45 days: lapse probability +2.0 pp"
    assert reason_text(MONTHS_SINCE_LATE, 2.0, 0.01, "zh").startswith("距上次逾期缴费月数为2 个月")
    assert reason_text(METHOD_CHANGED, True, 0.01, "zh").startswith("近 12 个月更换过缴费方式为是")
    assert lever_for([LATE_PAYMENTS], ["3"]) == "auto_debit"
    assert lever_for([LATE_PAYMENTS], ["3"], auto_debit=True) == "reminder"
    assert lever_for([FAILED_DEBITS, S.ANNUAL_PREMIUM], ["1", "9000"]) == "reminder"
    assert lever_for([METHOD_CHANGED, S.ANNUAL_PREMIUM], ["True", "9000"]) == "flexible_payment"


def test_cli_drivers_with_payments(root, tmp_path, monkeypatch, sample, sample_risk, payment_risk) -> None:
    """``drivers FILE --payments PAYMENTS``: the history read through the door and matched, the model built with it."""
    import json

    from clirun import run_cli

    loaded, history = sample
    spec = importlib.util.spec_from_file_location("make_payments", root / "data" / "make_payments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.write(tmp_path / "payments.csv")
    handed = []

    def build_risk(policies, study_date, options, progress=None, *, payments=None, draw=None):
        # The fit itself is pinned above; here the command must hand over the matched history.
        assert policies.equals(loaded.policies) and options == sample_risk[1].options()
        handed.append(payments)
        return payment_risk

    monkeypatch.setattr("analysis.risk.model.build_risk", build_risk)
    done = run_cli("drivers", str(root / "data" / "sample_policies.csv"), "--payments", str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(handed) == 1 and handed[0].matched and len(handed[0].payments) == len(history.payments)
    out = json.loads(done.stdout)
    assert out["importance"][0]["feature"] in PAYMENT_FEATURES and out["metrics"]["auc"] == payment_risk.model.metrics["auc"]
    assert "payment history" in done.stderr and "rows, 0 repaired, 0 rejected" in done.stderr
    plain = run_cli("drivers", "--help")
    assert "--payments" in plain.stdout


def test_the_drivers_page_learns_from_the_attached_payments(root, monkeypatch, sample, sample_risk, payment_risk) -> None:
    """AppTest: the sample's history attached on the Data page reaches the Risk drivers page's model, and the page says so."""
    import time

    from streamlit.testing.v1 import AppTest

    import ui.risk
    from analysis.payments.table import PaymentHistory

    loaded, _ = sample
    handed = []

    def build_risk(policies, study_date, options, progress=None, *, payments=None, draw=None):
        # The fit is pinned above: the page's job must hand the attached history over, matched with the book.
        handed.append(payments)
        assert policies.equals(loaded.policies) and options == sample_risk[1].options()
        return payment_risk if payments is not None else sample_risk[2]

    monkeypatch.setattr(ui.risk, "build_risk", build_risk)
    # A model an earlier test of this process left in the registry would be shown without a fit:
    # this test watches the fit, so it starts from an empty registry.
    registry = ui.risk._registry()
    with registry.lock:
        registry.jobs.clear()
    at = AppTest.from_file(str(root / "app.py"), default_timeout=180).run()
    at.button(key="data_payments_sample").click().run()
    at.switch_page("views/drivers.py").run()
    deadline = time.monotonic() + 180
    while not at.metric and not at.exception and time.monotonic() < deadline:
        wait_for_jobs()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert handed and isinstance(handed[-1], PaymentHistory) and handed[-1].matched
    assert any("模型同时学习缴费记录" in c.value for c in at.caption)
    assert float(at.metric[0].value) == pytest.approx(payment_risk.model.metrics["auc"], abs=5e-4)
