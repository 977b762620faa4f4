"""Headline problems, eligibility and selection into the programme."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from evalink.synth import HEADLINES


@pytest.fixture(scope="module")
def families(big_world: Path) -> pl.DataFrame:
    return pl.read_parquet(big_world / "truth/families.parquet")


def test_a_few_per_cent_of_families_are_eligible(families: pl.DataFrame) -> None:
    assert 0.03 <= families["eligible"].mean() <= 0.08


def test_eligible_means_at_least_two_of_the_six_headlines(families: pl.DataFrame) -> None:
    assert (families["eligible"] == (families["headlines"].list.len() >= 2)).all()
    assert (families["n_headlines"] == families["headlines"].list.len()).all()
    assert set(families["headlines"].explode().drop_nulls()) == set(HEADLINES)


def test_each_headline_is_a_minority_problem(families: pl.DataFrame) -> None:
    for headline in HEADLINES:
        share = families["headlines"].list.contains(headline).mean()
        assert 0.01 < share < 0.15, headline


def test_cohort_is_attached_waiting_or_not_eligible(families: pl.DataFrame) -> None:
    attached = families.filter(pl.col("cohort") == "attached")
    waiting = families.filter(pl.col("cohort") == "eligible_waiting")
    assert attached["eligible"].all() and waiting["eligible"].all()
    assert not families.filter(pl.col("cohort") == "not_eligible")["eligible"].any()
    assert attached["attachment_date"].is_not_null().all()
    assert families.filter(pl.col("cohort") != "attached")["attachment_date"].is_null().all()
    dates = attached["attachment_date"]
    assert str(dates.min()) >= "2015-04-01" and str(dates.max()) < "2017-04-01"
    assert (attached["keyworker_cost_gbp"] > 0).all()
    assert 0.3 < attached.height / (attached.height + waiting.height) < 0.7


def test_families_with_more_problems_are_attached_more_often(families: pl.DataFrame) -> None:
    eligible = families.filter(pl.col("eligible"))
    by_count = (
        eligible.group_by(pl.col("n_headlines").clip(upper_bound=4))
        .agg((pl.col("cohort") == "attached").mean().alias("attached"))
        .sort("n_headlines")
    )
    shares = by_count["attached"].to_list()
    assert shares == sorted(shares) and shares[-1] > shares[0] + 0.2


def test_families_carry_their_true_address(families: pl.DataFrame, big_world: Path) -> None:
    identities = pl.read_parquet(big_world / "truth/identities.parquet", columns=["family_id", "address", "postcode"])
    joined = identities.join(families.select("family_id", "address", "postcode"), on="family_id", suffix="_f")
    assert (joined["address"] == joined["address_f"]).all()
    assert joined["postcode"].str.contains(r"^(B6[4-9]|B7[01]|DY4|WS10) ").all()
