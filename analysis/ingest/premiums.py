"""The door's step that puts every premium on one basis: a year's premium (annualised premium, DOMAIN.md §7).

A premium column holds either one instalment's premium (期交保费, 每期保费) or a year's
(年化保费, 年缴保费, 标准保费). Persistency on premium basis, amount-weighted lapse rates and
the value of a saved policy all need a year's premium, so a premium per instalment is
annualised: × 12 ÷ the months between payments (月交 × 12, 季交 × 4, 半年交 × 2, 年交 × 1),
a single premium (趸交, 0 months) kept as written. The basis is the preset's setting
``premium_basis`` when it has one, else what the header says, else annual; a column note
says which basis was used and why, in every language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.headers import ANNUAL, INSTALMENT, premium_basis_of
from analysis.ingest.intake import Intake

#: Months in a year: a premium paid every ``m`` months is paid 12 / m times a year.
MONTHS_PER_YEAR = 12
#: The kind of the column note that states the premium basis.
PREMIUM_BASIS_NOTE = "premium_basis"
#: The note (``note.<note>`` in the catalogue) for each basis and what set it: the preset's
#: setting, the header's words, or nothing (then the premium is taken as annual, and said so).
_BASIS_NOTES = {
    (ANNUAL, "setting"): "premium_annual_setting",
    (ANNUAL, "header"): "premium_annual_header",
    (ANNUAL, "assumed"): "premium_annual_assumed",
    (INSTALMENT, "setting"): "premium_instalment_setting",
    (INSTALMENT, "header"): "premium_instalment_header",
}


def premium_basis(header: str, setting: object) -> tuple[str, str]:
    """The basis of a premium column and what set it: ``(basis, "setting" | "header" | "assumed")``."""
    if setting in (INSTALMENT, ANNUAL):
        return str(setting), "setting"
    said = premium_basis_of(header)
    return (said, "header") if said is not None else (ANNUAL, "assumed")


def annualise_premiums(intake: Intake) -> None:
    """The annual premium of every policy, whatever the premium column holds.

    Reads ``annual_premium`` (as read from its column), ``payment_frequency`` (months
    between payments; 0 for a single premium) and the basis (:func:`premium_basis`).
    For a premium per instalment, writes ``annual_premium`` = premium × 12 ÷ months; a
    single premium, and a premium without a known payment frequency, stay as written.
    Notes the basis on the premium column (``premium_basis``): which basis, what set it,
    how many premiums were annualised, and how many could not be for want of a frequency.
    """
    if S.ANNUAL_PREMIUM not in intake.out:
        return
    label = intake.label(S.ANNUAL_PREMIUM)
    basis, why = premium_basis(label, intake.settings.get("premium_basis"))
    premiums = pd.Series(intake.out[S.ANNUAL_PREMIUM], dtype="float64")
    present = premiums.notna().to_numpy()
    ledger = intake.ledger
    if basis == ANNUAL:
        ledger.note(label, PREMIUM_BASIS_NOTE, int(present.sum()), _BASIS_NOTES[(ANNUAL, why)], header=label)
        return
    if S.PAYMENT_FREQUENCY not in intake.out:
        ledger.note(label, PREMIUM_BASIS_NOTE, int(present.sum()), "premium_instalment_no_frequency", header=label)
        return
    months = pd.to_numeric(pd.Series(intake.out[S.PAYMENT_FREQUENCY]), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    regular = present & (months > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_year = np.where(regular, MONTHS_PER_YEAR / months, 1.0)
    intake.out[S.ANNUAL_PREMIUM] = premiums * per_year
    single, unknown = present & (months == 0), present & np.isnan(months)
    ledger.note(
        label,
        PREMIUM_BASIS_NOTE,
        int(present.sum()),
        _BASIS_NOTES[(INSTALMENT, why)],
        header=label,
        annualised=f"{int(regular.sum()):,}",
        single=f"{int(single.sum()):,}",
    )
    ledger.note(label, PREMIUM_BASIS_NOTE, int(unknown.sum()), "premium_not_annualised", header=label)
