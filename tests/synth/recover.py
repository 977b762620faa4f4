"""Recovering planted effects from the truth: a naive comparison within selection strata.

Attached families are chosen on their number of headline problems and on whether their
children needed help; within those strata attachment is by chance. So the rate of an
event after the index date, attached vs eligible-waiting, compared within strata
(Mantel-Haenszel rate ratio), estimates the planted ratio. Events cluster in families
(shared risk), so the interval comes from a bootstrap over families, not from a Poisson
formula. This uses the truth to know whose records are whose; it is not a linkage test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

DAYS_PER_MONTH = 365.25 / 12
# Effects exaggerated in the big test world, so recovery can be shown, not just allowed.
BIG_EFFECTS = {
    "child_looked_after": 0.4,
    "juvenile_conviction": 0.5,
    "adult_custody": 0.4,
    "jsa_claim": 0.7,
}


@dataclass
class Estimate:
    ratio: float
    low: float
    high: float
    events_attached: int
    events_waiting: int


def cohort_people(world: Path, department: str) -> pl.DataFrame:
    truth = pl.read_parquet(world / "truth/persons.parquet")
    fam = (
        pl.read_parquet(world / "truth/families.parquet")
        .filter(pl.col("cohort") != "not_eligible")
        .with_columns(pl.col("headlines").list.contains("children_need_help").alias("cnh"))
        .select("family_id", "cohort", "index_date", "n_headlines", "cnh")
    )
    dept = truth.filter(pl.col("source") == f"departments/{department}/persons").select(
        "person_id", "family_id", "record_id", pl.col("dob").str.to_date()
    )
    return dept.join(fam, on="family_id")


def _mh(stratum, treated, events, years, n_strata) -> float:
    t1 = np.bincount(stratum[treated], weights=years[treated], minlength=n_strata)
    t0 = np.bincount(stratum[~treated], weights=years[~treated], minlength=n_strata)
    a = np.bincount(stratum[treated], weights=events[treated], minlength=n_strata)
    b = np.bincount(stratum[~treated], weights=events[~treated], minlength=n_strata)
    total = t1 + t0
    ok = (t1 > 0) & (t0 > 0)
    num = np.sum(a[ok] * t0[ok] / total[ok])
    den = np.sum(b[ok] * t1[ok] / total[ok])
    return num / den if den > 0 else np.nan


def rate_ratio(
    world: Path,
    department: str,
    events: pl.DataFrame,
    *,
    age_lo: float,
    age_hi: float,
    from_month: float,
    to_month: float,
    stratify: bool = True,
    reps: int = 400,
    level: float = 0.99,
) -> Estimate:
    """`events`: record_id (the department's person) and date of each event."""
    people = cohort_people(world, department)
    lo = pl.col("index_date") + pl.duration(days=round(from_month * DAYS_PER_MONTH))
    hi = pl.col("index_date") + pl.duration(days=round(to_month * DAYS_PER_MONTH))
    age_start = pl.col("dob") + pl.duration(days=round(age_lo * 365.25))
    age_end = pl.col("dob") + pl.duration(days=round(age_hi * 365.25))
    people = people.with_columns(
        pl.max_horizontal(lo, age_start).alias("t0"), pl.min_horizontal(hi, age_end).alias("t1")
    ).with_columns(
        ((pl.col("t1") - pl.col("t0")).dt.total_days().clip(lower_bound=0) / 365.25).alias("years")
    )
    counted = (
        events.join(people.select("record_id", "t0", "t1"), on="record_id")
        .filter((pl.col("date") >= pl.col("t0")) & (pl.col("date") < pl.col("t1")))
        .group_by("record_id")
        .len()
    )
    fam = (
        people.join(counted, on="record_id", how="left")
        .with_columns(pl.col("len").fill_null(0))
        .group_by("family_id")
        .agg(
            pl.col("len").sum().alias("events"),
            pl.col("years").sum().alias("years"),
            (pl.col("cohort").first() == "attached").alias("treated"),
            (pl.col("n_headlines").first().cast(pl.Int64) * 2 + pl.col("cnh").first().cast(pl.Int64)).alias("stratum"),
        )
        .sort("family_id")
    )
    stratum = fam["stratum"].to_numpy() if stratify else np.zeros(fam.height, dtype=np.int64)
    treated = fam["treated"].to_numpy()
    events_ = fam["events"].to_numpy().astype(float)
    years = fam["years"].to_numpy()
    n_strata = int(stratum.max()) + 1
    point = _mh(stratum, treated, events_, years, n_strata)
    # Bootstrap over families, within arm and stratum proportions left to chance.
    rng = np.random.default_rng(12345)
    boot = np.empty(reps)
    for i in range(reps):
        pick = rng.integers(0, fam.height, size=fam.height)
        boot[i] = _mh(stratum[pick], treated[pick], events_[pick], years[pick], n_strata)
    alpha = (1 - level) / 2
    low, high = np.nanquantile(boot, [alpha, 1 - alpha])
    return Estimate(
        float(point), float(low), float(high), int(events_[treated].sum()), int(events_[~treated].sum())
    )


def absence_ratio(world: Path, *, stratify: bool = True, reps: int = 400, level: float = 0.99) -> Estimate:
    """Share of sessions missed in terms after the index date, attached vs waiting."""
    people = cohort_people(world, "dfe")
    attendance = pl.read_parquet(world / "departments/dfe/attendance.parquet")
    # A term's first day: autumn 1 Sep, spring 1 Jan, summer 15 Apr of the right year.
    start_year = pl.col("academic_year").str.slice(0, 4).cast(pl.Int32)
    term_start = (
        pl.when(pl.col("term") == "autumn").then(pl.date(start_year, 9, 1))
        .when(pl.col("term") == "spring").then(pl.date(start_year + 1, 1, 1))
        .otherwise(pl.date(start_year + 1, 4, 15))
    )  # fmt: skip
    fam = (
        attendance.with_columns(term_start.alias("start"))
        .join(people.select("record_id", "family_id", "index_date"), on="record_id")
        .filter(pl.col("start") >= pl.col("index_date"))
        .group_by("family_id")
        .agg(pl.col("sessions_missed").sum().alias("events"), pl.col("sessions_possible").sum().alias("years"))
        .join(
            people.group_by("family_id").agg(
                (pl.col("cohort").first() == "attached").alias("treated"),
                (pl.col("n_headlines").first().cast(pl.Int64) * 2 + pl.col("cnh").first().cast(pl.Int64)).alias("stratum"),
            ),
            on="family_id",
        )
        .sort("family_id")
    )
    stratum = fam["stratum"].to_numpy() if stratify else np.zeros(fam.height, dtype=np.int64)
    treated = fam["treated"].to_numpy()
    missed = fam["events"].to_numpy().astype(float)
    possible = fam["years"].to_numpy().astype(float)
    n_strata = int(stratum.max()) + 1
    point = _mh(stratum, treated, missed, possible, n_strata)
    rng = np.random.default_rng(12345)
    boot = np.empty(reps)
    for i in range(reps):
        pick = rng.integers(0, fam.height, size=fam.height)
        boot[i] = _mh(stratum[pick], treated[pick], missed[pick], possible[pick], n_strata)
    alpha = (1 - level) / 2
    low, high = np.nanquantile(boot, [alpha, 1 - alpha])
    return Estimate(float(point), float(low), float(high), int(missed[treated].sum()), int(missed[~treated].sum()))
