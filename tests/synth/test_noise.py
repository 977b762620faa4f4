"""Identifier noise: each department's copy differs from the truth at documented rates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from evalink.synth.departments import PROFILES
from evalink.synth.noise import SOUTH_ASIAN_SWAP_FACTOR


def _linked(world: Path, department: str) -> pl.DataFrame:
    records = pl.read_parquet(world / "departments" / department / "persons.parquet")
    truth = pl.read_parquet(world / "truth/persons.parquet").filter(
        pl.col("source") == f"departments/{department}/persons"
    )
    identities = pl.read_parquet(world / "truth/identities.parquet")
    return (
        records.join(truth.select("record_id", "person_id"), on="record_id")
        .join(identities, on="person_id", suffix="_true")
    )


@pytest.fixture(scope="module")
def dwp(big_world: Path) -> pl.DataFrame:
    return _linked(big_world, "dwp")


@pytest.fixture(scope="module")
def moj(big_world: Path) -> pl.DataFrame:
    return _linked(big_world, "moj")


@pytest.fixture(scope="module")
def dfe(big_world: Path) -> pl.DataFrame:
    return _linked(big_world, "dfe")


def test_dwp_holds_a_nino_for_almost_every_adult(dwp: pl.DataFrame) -> None:
    adults = dwp.filter(pl.col("nino_true").is_not_null())
    assert adults["nino"].is_not_null().mean() == pytest.approx(PROFILES["dwp"].nino_recorded, abs=0.005)
    assert dwp.filter(pl.col("nino_true").is_null())["nino"].is_null().all()


def test_moj_holds_fewer_ninos_and_dfe_none(moj: pl.DataFrame, dfe: pl.DataFrame) -> None:
    adults = moj.filter(pl.col("nino_true").is_not_null())
    assert adults["nino"].is_not_null().mean() == pytest.approx(PROFILES["moj"].nino_recorded, abs=0.01)
    assert dfe["nino"].is_null().all()


def test_nino_typos_and_formats_at_documented_rates(dwp: pl.DataFrame) -> None:
    held = dwp.filter(pl.col("nino").is_not_null())
    p = PROFILES["dwp"]
    differs = (held["nino"] != held["nino_true"]).mean()
    # Typos (most change the value) plus the two formats that change the string
    # (lower case, spaces, dropped suffix: all three do).
    assert differs == pytest.approx(p.nino_typo + p.nino_format, abs=0.006)
    normalised = held["nino"].str.to_uppercase().str.replace_all(" ", "")
    spaced = held["nino"].str.contains(" ").mean()
    assert spaced == pytest.approx(p.nino_format / 3, abs=0.005)
    assert (normalised.str.slice(0, 8) == held["nino_true"].str.slice(0, 8)).mean() > 0.99


def test_moj_dates_of_birth_err_at_documented_rates(moj: pl.DataFrame) -> None:
    p = PROFILES["moj"]
    assert moj["dob"].is_null().mean() == pytest.approx(p.dob_missing, abs=0.003)
    assert (moj["dob"] == "1900-01-01").mean() == pytest.approx(p.dob_placeholder / 2, abs=0.002)
    held = moj.filter(pl.col("dob").is_not_null())
    differs = (held["dob"] != held["dob_true"]).mean()
    # A swap only shows when the day is 12 or less and differs from the month (~36 %).
    expected = p.dob_swap * 0.36 + p.dob_off_by_one + p.dob_placeholder
    assert differs == pytest.approx(expected, abs=0.006)


def test_dfe_names_are_cleaner_than_moj_names(dfe: pl.DataFrame, moj: pl.DataFrame) -> None:
    def agree(t: pl.DataFrame, col: str) -> float:
        return (t[col].str.to_uppercase() == t[f"{col}_true"].str.to_uppercase()).mean()

    assert agree(dfe, "forename") > agree(moj, "forename") + 0.05
    assert agree(dfe, "surname") > agree(moj, "surname") + 0.05


def test_dwp_writes_names_in_capitals(dwp: pl.DataFrame) -> None:
    assert (dwp["surname"] == dwp["surname"].str.to_uppercase()).all()


def test_south_asian_names_are_swapped_more_often(moj: pl.DataFrame) -> None:
    swapped = (pl.col("forename").str.to_uppercase() == pl.col("surname_true").str.to_uppercase()) & (
        pl.col("surname").str.to_uppercase() == pl.col("forename_true").str.to_uppercase()
    )
    rate = moj.group_by(pl.col("naming_group").is_in(["sikh", "muslim"]).alias("south_asian")).agg(swapped.mean())
    rates = dict(rate.iter_rows())
    assert rates[True] > rates[False] * SOUTH_ASIAN_SWAP_FACTOR / 2
    assert rates[False] < PROFILES["moj"].name_swap * 1.2


def test_departments_see_the_variation_in_south_asian_names(moj: pl.DataFrame) -> None:
    sikh = moj.filter(pl.col("naming_group") == "sikh")
    surnames = sikh["surname"].str.to_uppercase()
    assert surnames.is_in(["SINGH", "KAUR"]).mean() > 0.25
    assert surnames.str.contains(r"^(SINGH|KAUR) ").mean() > 0.02  # "Singh Sandhu"
    prefixed = moj.filter(pl.col("called_name").is_not_null())
    by_called = (prefixed["forename"].str.to_uppercase() == prefixed["called_name"].str.to_uppercase()).mean()
    assert by_called == pytest.approx(PROFILES["moj"].called_name * 0.8, abs=0.1)
    spellings = moj.filter(pl.col("forename").str.to_uppercase().str.contains(r"^(MOHAM|MUHAM)\w+$"))
    assert spellings["forename"].str.to_uppercase().n_unique() >= 5


def test_married_women_are_sometimes_held_under_another_surname(dwp: pl.DataFrame) -> None:
    women = dwp.filter(pl.col("other_surname").is_not_null() & (pl.col("naming_group") == "white_british"))
    other = (women["surname"].str.to_uppercase() == women["other_surname"].str.to_uppercase()).mean()
    assert other == pytest.approx(PROFILES["dwp"].alt_surname, abs=0.03)


def test_households_that_moved_are_sometimes_held_at_the_old_address(dwp: pl.DataFrame, big_world: Path) -> None:
    moved = pl.read_parquet(big_world / "truth/families.parquet").filter(pl.col("moved")).select("family_id")
    in_moved = dwp.join(moved, on="family_id").filter(pl.col("postcode").is_not_null())
    old = (in_moved["postcode"].str.replace(" ", "") != in_moved["postcode_true"].str.replace(" ", "")).mean()
    assert old == pytest.approx(PROFILES["dwp"].moved_address, abs=0.04)
