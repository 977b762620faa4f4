"""People and families: the documented shares hold in a large world."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from evalink.synth.households import COUNCIL_FAMILY
from evalink.synth.identities import COUNCIL_NAMING, NINO_PREFIXES


@pytest.fixture(scope="module")
def identities(big_world: Path) -> pl.DataFrame:
    return pl.read_parquet(big_world / "truth/identities.parquet").with_columns(pl.col("dob").str.to_date())


@pytest.fixture(scope="module")
def council(identities: pl.DataFrame) -> pl.DataFrame:
    return identities.filter(pl.col("family_id").str.starts_with("F"))


def _age_on_reference_date() -> pl.Expr:
    return (pl.date(2015, 4, 1) - pl.col("dob")).dt.total_days() / 365.25


def test_families_have_about_four_members(council: pl.DataFrame) -> None:
    sizes = council.group_by("family_id").len()["len"]
    assert 3.8 <= sizes.mean() <= 4.3
    assert sizes.min() >= 2


def test_most_family_members_are_18_or_under(council: pl.DataFrame) -> None:
    share = council.select((_age_on_reference_date() < 18).mean()).item()
    assert 0.5 < share < 0.65


def test_lone_parents_grandparents_and_twins_at_their_documented_shares(council: pl.DataFrame) -> None:
    per_family = council.group_by("family_id").agg(
        (pl.col("role") == "father").any().alias("father"),
        (pl.col("role") == "mother").any().alias("mother"),
        (pl.col("role") == "grandparent").any().alias("grandparent"),
        pl.col("twin").any().alias("twins"),
        (pl.col("role") == "child").sum().alias("children"),
    )
    lone = per_family.select((~(pl.col("father") & pl.col("mother"))).mean()).item()
    assert lone == pytest.approx(COUNCIL_FAMILY.lone_parent, abs=0.015)
    assert per_family["grandparent"].mean() == pytest.approx(COUNCIL_FAMILY.grandparent, abs=0.01)
    twins = per_family.filter(pl.col("children") >= 2)["twins"].mean()
    assert twins == pytest.approx(COUNCIL_FAMILY.twins, abs=0.01)


def test_twins_share_a_birth_date_and_a_family(council: pl.DataFrame) -> None:
    twins = council.filter(pl.col("twin"))
    pairs = twins.group_by("family_id", "dob").len()
    assert (pairs["len"] >= 2).all()


def test_some_sons_carry_their_fathers_forename(council: pl.DataFrame) -> None:
    fathers = council.filter(pl.col("role") == "father").select("family_id", pl.col("forename").alias("father"))
    sons = council.filter((pl.col("role") == "child") & (pl.col("sex") == "M")).join(fathers, on="family_id")
    share = sons.filter(pl.col("forename") == pl.col("father"))["family_id"].n_unique() / sons["family_id"].n_unique()
    assert 0.05 < share < 0.12


def test_naming_groups_follow_the_configured_council_shares(council: pl.DataFrame) -> None:
    shares = dict(council.group_by("naming_group").len().with_columns(pl.col("len") / council.height).iter_rows())
    for group, expected in COUNCIL_NAMING.items():
        assert shares[group] == pytest.approx(expected, abs=0.02), group


def test_sikh_families_mix_singh_kaur_and_family_names(council: pl.DataFrame) -> None:
    sikh = council.filter(pl.col("naming_group") == "sikh")
    religious = sikh["surname"].is_in(["Singh", "Kaur"]).mean()
    assert 0.25 < religious < 0.5  # families not using a got
    # In those families, father Singh and mother Kaur: one family, two surnames.
    assert sikh.filter(pl.col("role") == "mother")["surname"].is_in(["Kaur"]).any()
    assert sikh.filter(pl.col("role") == "father")["surname"].is_in(["Singh"]).any()


def test_some_muslim_men_carry_mohammed_before_their_called_name(council: pl.DataFrame) -> None:
    men = council.filter((pl.col("naming_group") == "muslim") & (pl.col("sex") == "M"))
    prefixed = men.filter(pl.col("called_name").is_not_null())
    assert 0.2 < prefixed.height / men.height < 0.4
    assert (prefixed["middle_name"] == prefixed["called_name"]).all()
    spellings = set(prefixed["forename"])
    assert {"Mohammed", "Muhammad"} <= spellings and len(spellings) >= 4


def test_surnames_are_skewed_with_a_long_tail(identities: pl.DataFrame) -> None:
    counts = identities["surname"].value_counts(sort=True, normalize=True)
    assert 0.01 < counts["proportion"][0] < 0.05  # the commonest, as Smith is
    assert counts.height > 1000
    assert (counts["proportion"] < 1e-4).sum() > 300  # many rare names


def test_adults_have_valid_ninos_and_children_none(identities: pl.DataFrame) -> None:
    age = (pl.date(2020, 3, 31) - pl.col("dob")).dt.total_days() / 365.25
    adults = identities.filter(age >= 16.01)
    children = identities.filter(age < 15.99)
    assert adults["nino"].is_not_null().all()
    assert children["nino"].is_null().all()
    pattern = re.compile(r"^[A-Z]{2}\d{6}[A-D]$")
    ninos = adults["nino"]
    assert ninos.map_elements(lambda n: bool(pattern.match(n)), return_dtype=pl.Boolean).all()
    assert set(ninos.str.slice(0, 2).unique()) <= set(NINO_PREFIXES)
    assert ninos.is_unique().all()


def test_postcodes_have_uk_format(identities: pl.DataFrame) -> None:
    pattern = r"^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$"
    assert identities["postcode"].str.contains(pattern).all()


def test_no_two_households_share_an_address(identities: pl.DataFrame) -> None:
    homes = identities.group_by("family_id").agg(pl.col("address").first(), pl.col("postcode").first())
    assert homes.select(pl.struct("address", "postcode").n_unique()).item() == homes.height
