"""What-if for one policy: change the levers the insurer can offer and read the model's new probability.

The levers (:data:`WHATIF_LEVERS`) are what the insurer can offer a customer: switch to
automatic debit (``auto_debit``), another payment frequency (``payment_frequency``, months
between premiums: 1 monthly, 3 quarterly, 6 half-yearly, 12 yearly) and a lower premium
(``premium_change``, a share such as −0.2 for a premium 20 % lower; the premium-to-income
ratio, when the model has it, falls in proportion). Every other feature of the policy's
scored row — its age, policy year, payment behaviour — stays as it is.

**What it means.** The new probability is the model's prediction for a policy that looks
like this one with the lever changed: an *association* learnt from the book, not the effect
of offering the lever. Customers who chose automatic debit differ from those who did not in
ways the model may not see, so the change is an upper bound on what the offer could do, to be
checked by a controlled campaign (the Interventions page). A lever whose feature the model
does not use changes nothing, and :class:`WhatIfResult` says so (``unused``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.risk.model import RiskResult
from analysis.risk.rows import PREMIUM_TO_INCOME

#: The levers, by the feature each changes.
WHATIF_LEVERS: Final = (S.AUTO_DEBIT, S.PAYMENT_FREQUENCY, S.ANNUAL_PREMIUM)
#: The payment frequencies a policy can be moved to (months between premiums).
FREQUENCIES: Final = (1, 3, 6, 12)
#: A premium can be lowered by at most this share, and not raised.
MAX_PREMIUM_CUT: Final = 0.5


@dataclass(frozen=True)
class WhatIf:
    """The levers changed (None / 0: unchanged)."""

    auto_debit: bool | None = None
    payment_frequency: int | None = None
    premium_change: float = 0.0

    def check(self) -> None:
        """Refuse levers the insurer cannot offer.

        Raises
        ------
        ExtractError
            ``bad_option`` (``whatif_frequency``: not one of :data:`FREQUENCIES`;
            ``whatif_premium``: a change outside ``[-MAX_PREMIUM_CUT, 0]``).
        """
        if self.payment_frequency is not None and self.payment_frequency not in FREQUENCIES:
            offered = ", ".join(str(f) for f in FREQUENCIES)
            raise ExtractError("bad_option", reason="whatif_frequency", value=self.payment_frequency, offered=offered)
        if not -MAX_PREMIUM_CUT <= self.premium_change <= 0:
            raise ExtractError("bad_option", reason="whatif_premium", value=f"{self.premium_change:.0%}", limit=f"{MAX_PREMIUM_CUT:.0%}")

    def features(self) -> tuple[str, ...]:
        """The features this what-if changes."""
        changed = (
            (S.AUTO_DEBIT, self.auto_debit is not None),
            (S.PAYMENT_FREQUENCY, self.payment_frequency is not None),
            (S.ANNUAL_PREMIUM, self.premium_change != 0),
        )
        return tuple(feature for feature, on in changed if on)


def with_levers(rows: pd.DataFrame, change: WhatIf) -> pd.DataFrame:
    """A copy of scored rows with the levers applied (column types kept; columns the rows lack are left alone).

    Raises
    ------
    ExtractError
        As :meth:`WhatIf.check`.
    """
    change.check()
    out = rows.copy()
    if change.auto_debit is not None and S.AUTO_DEBIT in out:
        out[S.AUTO_DEBIT] = pd.Series(change.auto_debit, index=out.index).astype(rows[S.AUTO_DEBIT].dtype)
    if change.payment_frequency is not None and S.PAYMENT_FREQUENCY in out:
        out[S.PAYMENT_FREQUENCY] = pd.Series(change.payment_frequency, index=out.index).astype(rows[S.PAYMENT_FREQUENCY].dtype)
    if change.premium_change:
        factor = 1.0 + change.premium_change
        for column in (S.ANNUAL_PREMIUM, PREMIUM_TO_INCOME):
            if column in out:
                out[column] = pd.to_numeric(out[column], errors="coerce") * factor
    return out


@dataclass(frozen=True)
class WhatIfResult:
    """One policy's probability before and after the levers.

    Attributes
    ----------
    before, after : float
        The model's probability of a voluntary exit within the horizon, as scored and with
        the levers applied.
    changes : DataFrame
        ``[feature, before, after]``: each lever's feature, the policy's value and the new one.
    unused : tuple of str
        Levers asked for whose feature the model does not use (they cannot move it).
    """

    policy_id: str
    before: float
    after: float
    changes: pd.DataFrame
    unused: tuple[str, ...]

    @property
    def difference(self) -> float:
        """``after − before`` (negative: the model associates the levers with a lower risk)."""
        return self.after - self.before


def what_if(result: RiskResult, row: pd.DataFrame, change: WhatIf) -> WhatIfResult:
    """The model's probability for one scored row (a one-row slice of ``result.scores``) before and after ``change``.

    Raises
    ------
    ExtractError
        ``not_in_force`` when ``row`` is empty (the policy is not scored: not in force on the
        study date); ``bad_option`` as :meth:`WhatIf.check`.
    """
    if row.empty:
        raise ExtractError("not_in_force", policy="")
    one = row.iloc[[0]]
    changed = with_levers(one, change)
    before, after = result.model.probability(pd.concat([one, changed], ignore_index=True))
    asked = change.features()
    used = set(result.model.features)
    changes = pd.DataFrame(
        {
            "feature": list(asked),
            "before": [one.iloc[0][f] if f in one else np.nan for f in asked],
            "after": [changed.iloc[0][f] if f in changed else np.nan for f in asked],
        }
    )
    unused = tuple(f for f in asked if f not in used)
    return WhatIfResult(str(one.iloc[0]["policy_id"]), float(before), float(after), changes, unused)
