"""What de-identification cost the evaluation: simple attached-versus-waiting rate
ratios for the main outcomes, on the exact table and on the released one.

The ratio is the share of persons with at least one such outcome starting in months
1-24 after the index date, attached over waiting, with the usual 95% interval of a
ratio of two proportions. Months bands never straddle an evaluation window, so a
released band says exactly whether an outcome fell in the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from evalink.assemble.generalise import month_number

ATTACHED, WAITING = "attached", "eligible_waiting"
WINDOW = (1, 24)
# outcome → (column, values): the National Impact Study's main outcomes.
OUTCOMES = {
    "looked after": ("outcome", ["LAC"]),
    "child protection plan": ("outcome", ["CPP"]),
    "child in need": ("outcome", ["CIN"]),
    "custody": ("outcome_detail", ["custody"]),
    "caution or conviction": ("outcome", ["caution", "conviction"]),
    "jobseeker claim": ("outcome", ["JSA", "UC"]),
}


@dataclass
class RateRatio:
    outcome: str
    exact: float | None
    low: float | None
    high: float | None
    released: float | None

    @property
    def moved(self) -> float | None:
        """How far the released ratio moved, as a share of the exact interval's width."""
        if None in (self.exact, self.released, self.low, self.high):
            return None
        width = self.high - self.low  # type: ignore[operator]
        if width <= 0:
            return None
        return abs(self.released - self.exact) / width  # type: ignore[operator]

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "exact": self.exact,
            "low": self.low,
            "high": self.high,
            "released": self.released,
            "moved_share_of_interval": self.moved,
        }


def _in_window_exact(exact: pl.DataFrame) -> pl.Expr:
    months = month_number(pl.col("outcome_start")) - month_number(pl.col("index_month"))
    return months.is_between(*WINDOW)


def _in_window_released() -> pl.Expr:
    text = pl.col("outcome_start_month")
    low = text.str.split("..").list.first().cast(pl.Int32, strict=False)
    high = text.str.split("..").list.last().cast(pl.Int32, strict=False)
    return (low >= WINDOW[0]) & (high <= WINDOW[1])


def _ratio(table: pl.DataFrame, in_window: pl.Expr, column: str, values: list[str]):
    persons = table.group_by("pseudonym").agg(
        pl.col("cohort").first(),
        (pl.col(column).is_in(values) & in_window).fill_null(False).any().alias("had"),
    )
    counts = {
        row["cohort"]: (row["had"], row["n"])
        for row in persons.group_by("cohort")
        .agg(pl.col("had").sum(), pl.len().alias("n"))
        .iter_rows(named=True)
    }
    (a, n1), (c, n0) = counts.get(ATTACHED, (0, 0)), counts.get(WAITING, (0, 0))
    if not (a and c and n1 and n0):
        return None, None, None
    ratio = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return ratio, ratio * math.exp(-1.96 * se), ratio * math.exp(1.96 * se)


def rate_ratios(exact: pl.DataFrame, released: pl.DataFrame) -> list[RateRatio]:
    out = []
    for name, (column, values) in OUTCOMES.items():
        ratio, low, high = _ratio(exact, _in_window_exact(exact), column, values)
        after, _, _ = _ratio(released, _in_window_released(), column, values)
        out.append(RateRatio(name, ratio, low, high, after))
    return out
