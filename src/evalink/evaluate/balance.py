"""Balance: does the weighted comparison arm look like the programme arm?

The standardised mean difference of each covariate, before weighting and after, with
the same denominator both times (the unweighted arms' pooled standard deviation), so a
change in the SMD is a change in the means alone. An outcome whose adjusted SMD on any
covariate is above the plan's bound (0.1 by convention) is flagged wherever it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalink.evaluate.weighting import Fit


@dataclass(frozen=True)
class Balance:
    outcome: str
    covariate: str
    smd_before: float
    smd_after: float
    mean_programme: float
    mean_comparison_before: float
    mean_comparison_after: float
    n_programme: int
    n_comparison: int
    # The programme arm's mean as weighted (the same as `mean_programme` when it weighs
    # 1, as for the effect on families worked with; not under overlap weights).
    mean_programme_after: float | None = None

    def ok(self, bound: float) -> bool:
        return not abs(self.smd_after) > bound


def balance(fit: Fit) -> list[Balance]:
    persons = fit.data.persons
    programme = persons["programme"].to_numpy() == 1
    out = []
    for covariate in fit.data.covariates:
        x = persons[covariate].to_numpy(dtype=float)
        treated, control = x[programme], x[~programme]
        if len(treated) == 0 or len(control) == 0:
            continue
        spread = np.sqrt((treated.var(ddof=1) + control.var(ddof=1)) / 2) if min(len(treated), len(control)) > 1 else 0.0
        after = float(np.average(control, weights=fit.weight[~programme]))
        treated_after = float(np.average(treated, weights=fit.weight[programme]))

        def smd(comparison: float, spread: float = spread, programme_mean: float = float(treated.mean())) -> float:
            difference = programme_mean - comparison
            if spread > 0:
                return difference / spread
            return 0.0 if difference == 0 else float(np.sign(difference)) * np.inf

        out.append(Balance(
            outcome=fit.data.name, covariate=covariate,
            smd_before=smd(float(control.mean())), smd_after=smd(after, programme_mean=treated_after),
            mean_programme=float(treated.mean()),
            mean_comparison_before=float(control.mean()), mean_comparison_after=after,
            n_programme=int(programme.sum()), n_comparison=int((~programme).sum()),
            mean_programme_after=treated_after,
        ))
    return out


def balanced(rows: list[Balance], bound: float) -> bool:
    return all(row.ok(bound) for row in rows)
