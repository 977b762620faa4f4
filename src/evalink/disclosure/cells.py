"""What each cell of a table is made of, and the rules it fails — in ACRO 1.0.2's terms.

A cell's *units* are the distinct values of `spec.unit` among its rows (the rows
themselves when there is no unit). Its *contributors*, for a magnitude table, are the
units' totals of the values column (each row's value when there is no unit). The rules,
as ACRO's checks (sdcchecks.py) apply them:

- "threshold": fewer than `min_count` units (ACRO: count_table < safe_threshold). A zero
  is under any threshold, so a zero fails it too, whatever `zeros_disclosive` says.
- "zero": a frequency cell of zero while zeros are disclosive (PresenceOfZeroCheck). ACRO
  runs it on frequency tables only: an empty sum or mean cell fails "threshold" alone.
- "dominance": the `nk_n` largest contributors make up at least `nk_k`% of the cell's
  total (NKCheck: top_n_sum / sum >= k; a total of zero divides to NaN and passes).
- "p-ratio": (total - two largest) / largest < `p_ratio`% (PPercentCheck; a largest of
  zero takes the numerator itself, so a cell whose contributors are all zero fails: its
  zero says what each of them is; an empty cell passes).
- "negative": a contributor below zero, where dominance and p-ratio are undefined; the
  cell fails "negative" instead of them. ACRO, as soon as any cell of a table holds a
  negative, answers both checks with the mask of such cells and checks the other cells'
  dominance not at all; here the other cells are still checked (stricter, on purpose).

The arithmetic follows ACRO's (pandas group sums, top-n by `nlargest` order) so that a
cell on the boundary (top two exactly 90%) falls the same side in both.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalink.disclosure.thresholds import Thresholds

Aggfunc = Literal["count", "sum", "mean"]

RULE_THRESHOLD = "threshold"
RULE_ZERO = "zero"
RULE_DOMINANCE = "dominance"
RULE_P_RATIO = "p-ratio"
RULE_NEGATIVE = "negative"
RULE_SECONDARY = "secondary"

# Columns of `measure`'s answer, one row per cell.
MEASURES = ("count", "sum", "mean", "largest", "top_n", "top_2", "negatives", "largest_abs")


def measure(
    rows: pd.DataFrame,
    by: list[str],
    *,
    values: str | None,
    unit: str | None,
    nk_n: int,
) -> pd.DataFrame:
    """Per group of `rows` by the columns `by` (their values as strings): the number of
    units, and for a values column the contributors' sum, mean, largest, sum of the
    `nk_n` largest and of the two largest, number below zero and largest in size.
    Groups with no rows are not in the answer (the caller reindexes to its cells)."""
    grouped = rows.groupby(by, sort=False, observed=True)
    count = grouped[unit].nunique() if unit else grouped.size()
    answer = pd.DataFrame({"count": count.astype("int64")})
    if values is None:
        return answer
    contributors = rows.dropna(subset=[values])
    if unit:
        # A unit with several rows in a cell is one contributor: its total, not its rows.
        contributors = (
            contributors.groupby([*by, unit], sort=False, observed=True)[values].sum().reset_index()
        )
    by_cell = contributors.groupby(by, sort=False, observed=True)[values]
    answer["sum"] = by_cell.sum()
    answer["mean"] = by_cell.mean()
    answer["largest"] = by_cell.max()
    # Largest first within each cell, so that the first n of a cell are its n largest,
    # summed in the order ACRO's `nlargest(n)[0:n].sum()` sums them.
    ranked = contributors.sort_values([*by, values], ascending=[True] * len(by) + [False])
    rank = ranked.groupby(by, sort=False, observed=True).cumcount()
    for column, n in (("top_n", nk_n), ("top_2", 2)):
        answer[column] = ranked[rank < n].groupby(by, sort=False, observed=True)[values].sum()
    answer["negatives"] = (
        (contributors[values] < 0)
        .groupby([contributors[b] for b in by], sort=False, observed=True)
        .sum()
    )
    answer["largest_abs"] = (
        contributors[values]
        .abs()
        .groupby([contributors[b] for b in by], sort=False, observed=True)
        .max()
    )
    return answer


def rules_failed(cells: pd.DataFrame, aggfunc: Aggfunc, thresholds: Thresholds) -> list[frozenset]:
    """The rules each cell (a row of `measure`'s answer, reindexed: NaN where a cell has
    no contributors) fails, in the order of `cells`."""
    count = cells["count"].fillna(0).to_numpy()
    failing: list[set[str]] = [set() for _ in range(len(cells))]
    for i in np.flatnonzero(count < thresholds.min_count):
        failing[i].add(RULE_THRESHOLD)
    if aggfunc == "count":
        if thresholds.zeros_disclosive:
            for i in np.flatnonzero(count == 0):
                failing[i].add(RULE_ZERO)
        return [frozenset(f) for f in failing]

    total = cells["sum"].to_numpy(dtype=float)
    negative = cells["negatives"].fillna(0).to_numpy() > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # NaN (an empty cell, or a total of zero over zeros) compares False: passes.
        dominated = cells["top_n"].to_numpy(dtype=float) / total >= thresholds.nk_k / 100.0
        largest = cells["largest"].to_numpy(dtype=float)
        rest = total - cells["top_2"].to_numpy(dtype=float)
        ratio = np.where(largest == 0, rest, rest / largest)
    ratio = np.where(np.isnan(ratio), 1.0, ratio)
    too_close = ratio < thresholds.p_ratio / 100.0
    for i in range(len(cells)):
        if negative[i]:
            failing[i].add(RULE_NEGATIVE)
            continue
        if dominated[i]:
            failing[i].add(RULE_DOMINANCE)
        if too_close[i]:
            failing[i].add(RULE_P_RATIO)
    return [frozenset(f) for f in failing]
