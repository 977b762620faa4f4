"""From the exact research table to the one researchers receive: every value an
intruder could know is coarsened by one published rule, the same for everyone.

The exact table (built by `research.research_table`) keeps calendar months: each
family's index month (the month it was attached; for a waiting family, a month drawn
from the attached families' months, so it has a date to be compared from) and the month
each outcome began and ended. The released table holds no calendar date at all:

- `index_period`: the index month coarsened (quarter, half-year, year, two years);
- `outcome_start_month`, `outcome_end_month`: months since the family's index month
  (negative before it), exact or in bands that never straddle the evaluation's windows
  (1-6, 7-12, 13-18, 19-24 ... after, -6..-1, -12..-7 ... before; 0 alone);
- `family_size`, capped; `year_of_birth` in bands, `keyworker_cost` rounded or banded,
  `headlines` as given
  or as their number (with `children_need_help`, which selection into the programme
  follows), the small-area code never released.

Every rule is a function of one value (and the family's index month), so an intruder
who knows the exact value and the published `Generalisation` computes exactly what was
released for it: `evalink.assemble.intruder` attacks with that knowledge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import polars as pl

# Columns of the released table, in order (the policy's research_dataset fields).
RELEASED = (
    "pseudonym",
    "family_pseudonym",
    "cohort",
    "index_period",
    "year_of_birth",
    "sex",
    "local_authority",
    "family_size",
    "headlines",
    "help_received",
    "keyworker_cost",
    "source",
    "outcome",
    "outcome_detail",
    "outcome_start_month",
    "outcome_end_month",
    "outcome_value",
    "outcome_base",
    "match_probability",
)
# How coarse suppression makes a singled-out family's outcome months: two years, which
# still says before or after the index date and within two years of it.
COARSE_MONTHS = 24
# The headline an evaluation adjusts for by name: selection into the programme follows it.
KEPT_HEADLINE = "children_need_help"
INDEX_LEVELS = ("month", "quarter", "half", "year", "two_years")
HEADLINE_LEVELS = ("all", "count_and_children_need_help", "count")


@dataclass(frozen=True)
class Generalisation:
    """How coarse each released value is. `cost_band` 0 withholds the cost, 1 keeps it
    exact (never released: only to measure the dataset as it was before)."""

    index: str = "quarter"
    birth_years: int = 1
    cost_band: int = 100
    headlines: str = "all"
    month_band: int = 1
    family_cap: int = 6

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# The ladder: each rung coarser than the one before, the cheapest loss of detail first.
# Every band nests in the next one of its kind (£100 in £500 in £1,000 in £2,000; years
# 1, 5, 10, 20; months 1, 3, 6 inside the windows; quarter, half, year, two years), which
# `deidentify` relies on to bisect the ladder.
LADDER: list[tuple[str, Generalisation]] = []
_rung = Generalisation()
for _name, _change in [
    ("as exact as released at all: index quarter, cost to £100", {}),
    ("keyworker cost in £500 bands", {"cost_band": 500}),
    ("index date to the half-year", {"index": "half"}),
    ("year of birth in 5-year bands", {"birth_years": 5}),
    ("headlines as their number and children_need_help", {"headlines": HEADLINE_LEVELS[1]}),
    ("keyworker cost in £1,000 bands", {"cost_band": 1000}),
    ("family size capped at 5", {"family_cap": 5}),
    ("index date to the year", {"index": "year"}),
    ("year of birth in 10-year bands", {"birth_years": 10}),
    ("outcome months in 3-month bands within the windows", {"month_band": 3}),
    ("headlines as their number only", {"headlines": "count"}),
    ("keyworker cost in £2,000 bands", {"cost_band": 2000}),
    ("index date to two years", {"index": "two_years"}),
    ("family size capped at 4", {"family_cap": 4}),
    ("year of birth in 20-year bands", {"birth_years": 20}),
    ("outcome months in the evaluation's 6-month windows", {"month_band": 6}),
]:
    _rung = replace(_rung, **_change)
    LADDER.append((_name, _rung))


# The released columns each setting of a Generalisation coarsens.
COLUMNS_OF: dict[str, tuple[str, ...]] = {
    "index": ("index_period",),
    "birth_years": ("year_of_birth",),
    "cost_band": ("keyworker_cost",),
    "headlines": ("headlines",),
    "month_band": ("outcome_start_month", "outcome_end_month"),
    "family_cap": ("family_size",),
}
FINEST = LADDER[0][1]


def month_number(text: pl.Expr) -> pl.Expr:
    """'YYYY-MM…' → months since year 0, for month arithmetic."""
    text = text.cast(pl.Utf8)
    return text.str.slice(0, 4).cast(pl.Int32, strict=False) * 12 + (
        text.str.slice(5, 2).cast(pl.Int32, strict=False) - 1
    )


def index_period(index: pl.Expr, level: str) -> pl.Expr:
    """An index month number → its released period."""
    year = index // 12
    month = index % 12  # 0-based
    if level == "month":
        return pl.format("{}-{}", year, (month + 1).cast(pl.Utf8).str.zfill(2))
    if level == "quarter":
        return pl.format("{}-Q{}", year, month // 3 + 1)
    if level == "half":
        return pl.format("{}-H{}", year, month // 6 + 1)
    if level == "year":
        return year.cast(pl.Utf8)
    start = (year // 2) * 2
    return pl.format("{}-{}", start, start + 1)


def months_band(months: pl.Expr, width: int) -> pl.Expr:
    """Months since the index month, exact or in bands inside the evaluation windows.

    Bands count from 1 after the index month and from -1 before it, so a band of 3 or 6
    never holds months of two different 6-month windows; the index month is its own.
    No month (a person with no outcome, an event with no end) stays empty.
    """
    if width <= 1:
        return months.cast(pl.Utf8)
    after_start = ((months - 1) // width) * width + 1
    before_end = -((((-months) - 1) // width) * width + 1)
    return (
        pl.when(months > 0)
        .then(pl.format("{}..{}", after_start, after_start + width - 1))
        .when(months < 0)
        .then(pl.format("{}..{}", before_end - width + 1, before_end))
        .when(months == 0)
        .then(pl.lit("0"))
    )


def birth_years(year: pl.Expr, width: int) -> pl.Expr:
    year = year.cast(pl.Utf8).str.slice(0, 4).cast(pl.Int32, strict=False)
    if width <= 1:
        return year.cast(pl.Utf8)
    start = (year // width) * width
    return pl.format("{}-{}", start, start + width - 1)


def cost(value: pl.Expr, band: int) -> pl.Expr:
    value = value.cast(pl.Float64, strict=False)
    if band <= 0:
        return pl.lit(None, pl.Utf8)
    if band == 1:  # exact, as the programme recorded it (only for measuring "before")
        return value.round(2).cast(pl.Utf8)
    start = (value // band * band).cast(pl.Int64)
    if band == 100:
        return start.cast(pl.Utf8)
    return pl.format("{}-{}", start, start + band - 1)


def family_size(value: pl.Expr, cap: int) -> pl.Expr:
    """The number of members, with every size from `cap` up shown as `cap`+: a family
    whose link is withheld still carries its size for the evaluation."""
    size = value.cast(pl.Int32, strict=False)
    return pl.when(size >= cap).then(pl.lit(f"{cap}+")).otherwise(size.cast(pl.Utf8))


def headlines(value: pl.Expr, level: str) -> pl.Expr:
    if level == "all":
        return value
    items = value.str.split(";")
    count = items.list.len().cast(pl.Utf8)
    if level == "count":
        return count
    flagged = items.list.contains(KEPT_HEADLINE)
    return pl.when(flagged).then(count + f";{KEPT_HEADLINE}").otherwise(count)


def released(exact: pl.DataFrame, rule: Generalisation) -> pl.DataFrame:
    """The released table for one rung of the ladder (no suppression yet)."""
    index = pl.col("index_month_number")
    table = exact.with_columns(index_month_number=month_number(pl.col("index_month")))
    return table.select(
        "pseudonym",
        "family_pseudonym",
        "cohort",
        index_period(index, rule.index).alias("index_period"),
        birth_years(pl.col("year_of_birth"), rule.birth_years).alias("year_of_birth"),
        "sex",
        "local_authority",
        family_size(pl.col("family_size"), rule.family_cap).alias("family_size"),
        headlines(pl.col("headlines"), rule.headlines).alias("headlines"),
        "help_received",
        cost(pl.col("keyworker_cost"), rule.cost_band).alias("keyworker_cost"),
        "source",
        "outcome",
        "outcome_detail",
        months_band(month_number(pl.col("outcome_start")) - index, rule.month_band).alias(
            "outcome_start_month"
        ),
        months_band(month_number(pl.col("outcome_end")) - index, rule.month_band).alias(
            "outcome_end_month"
        ),
        "outcome_value",
        "outcome_base",
        "match_probability",
    )
