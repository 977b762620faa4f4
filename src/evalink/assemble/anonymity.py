"""k-anonymity on quasi-identifiers: generalise first, suppress only what remains.

Each person must share their combination of quasi-identifiers (year of birth, sex,
area, month of attachment) with at least k-1 others, or a researcher who knows a
neighbour's birth year and street could pick out their record. We coarsen in a fixed
ladder — cheapest information loss first — and suppress the rows still in classes
smaller than k, reporting how many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

Step = tuple[str, Callable[[pl.DataFrame], pl.DataFrame]]


def _coarsen_year(column: str, width: int) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def apply(frame: pl.DataFrame) -> pl.DataFrame:
        if column not in frame.columns:
            return frame
        year = pl.col(column).cast(pl.Utf8).str.slice(0, 4).cast(pl.Int32, strict=False)
        start = (year // width) * width
        return frame.with_columns(pl.format("{}-{}", start, start + width - 1).alias(column))

    return apply


def _coarsen_month(column: str, to: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def apply(frame: pl.DataFrame) -> pl.DataFrame:
        if column not in frame.columns:
            return frame
        text = pl.col(column).cast(pl.Utf8)
        if to == "quarter":
            month = text.str.slice(5, 2).cast(pl.Int32, strict=False)
            value = text.str.slice(0, 4) + "-Q" + ((month - 1) // 3 + 1).cast(pl.Utf8)
        else:
            value = text.str.slice(0, 4)
        return frame.with_columns(value.alias(column))

    return apply


def _drop(column: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def apply(frame: pl.DataFrame) -> pl.DataFrame:
        if column not in frame.columns:
            return frame
        return frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(column))

    return apply


# The ladder, in order. Each step loses a little more detail than the one before.
LADDER: list[Step] = [
    ("area_code → local authority only", _drop("area_code")),
    ("attachment month → quarter", _coarsen_month("attachment_month", "quarter")),
    ("year of birth → 5-year band", _coarsen_year("year_of_birth", 5)),
    ("attachment quarter → year", _coarsen_month("attachment_month", "year")),
    ("year of birth → 10-year band", _coarsen_year("year_of_birth", 10)),
    ("year of birth → 20-year band", _coarsen_year("year_of_birth", 20)),
    ("attachment date removed", _drop("attachment_month")),
    ("sex removed", _drop("sex")),
]


@dataclass
class AnonymityReport:
    k: int
    quasi_identifiers: list[str]
    steps_applied: list[str] = field(default_factory=list)
    rows_in: int = 0
    persons_suppressed: int = 0  # persons whose quasi-identifiers were blanked
    smallest_class: int = 0


def small_classes(frame: pl.DataFrame, quasi: list[str], k: int) -> pl.Series:
    """True for each row whose quasi-identifier combination occurs fewer than k times.

    Rows whose quasi-identifiers are all blank reveal none and are never small.
    """
    if not quasi or frame.height == 0:
        return pl.Series("small", [False] * frame.height, dtype=pl.Boolean)
    blank = pl.all_horizontal(pl.col(q).is_null() for q in quasi)
    return frame.select(((pl.len().over(quasi) < k) & ~blank).alias("small"))["small"]


def k_anonymise(
    frame: pl.DataFrame, quasi: list[str], k: int, *, person: str = "pseudonym"
) -> tuple[pl.DataFrame, AnonymityReport]:
    """Generalise, then suppress, until every person's quasi-identifiers are shared by
    at least k people.

    `frame` may hold several rows per person (outcome records); classes are counted in
    persons, and every row of a person carries the same (generalised) values.
    """
    report = AnonymityReport(k=k, quasi_identifiers=list(quasi), rows_in=frame.height)
    people = frame.select(person, *quasi).unique(subset=[person], keep="first")
    for name, step in LADDER:
        if not small_classes(people, quasi, k).any():
            break
        people = step(people)
        report.steps_applied.append(name)
    small = small_classes(people, quasi, k)
    report.persons_suppressed = int(small.sum())
    if report.persons_suppressed:
        people = people.with_columns(
            pl.when(small).then(None).otherwise(pl.col(q)).alias(q) for q in quasi
        )
        report.steps_applied.append(
            f"quasi-identifiers blanked for {report.persons_suppressed} persons"
        )
    out = frame.drop(quasi).join(people, on=person, how="left")
    shown = people.filter(~pl.all_horizontal(pl.col(q).is_null() for q in quasi))
    report.smallest_class = int(shown.group_by(quasi).len()["len"].min()) if shown.height else 0
    return out.select(frame.columns), report
