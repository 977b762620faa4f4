"""The world's shape: files, columns, truth coverage, determinism."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl
import pytest

from evalink.synth import generate

IDENTIFIERS = ["record_id", "forename", "surname", "dob", "sex", "postcode", "address", "nino"]
COUNCIL = [
    "police", "school_attendance", "school_exclusions", "social_care", "worklessness",
    "domestic_abuse", "health", "housing", "programme",
]  # fmt: skip
DEPARTMENTS = {
    "dwp": ["persons", "benefit_spells", "employment_spells"],
    "moj": ["persons", "offences"],
    "dfe": ["persons", "attendance", "exclusions", "ks_results", "children_in_need", "looked_after"],
}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_writes_byte_identical_files(small_world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, families=300, population=8000, seed=11)
    assert _digest(again) == _digest(small_world)


def test_different_seeds_make_different_worlds(small_world: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, families=300, population=8000, seed=12)
    a, b = _digest(small_world), _digest(other)
    assert a.keys() == b.keys()
    differing = [name for name in a if name.endswith(".parquet") and a[name] != b[name]]
    assert len(differing) == sum(1 for name in a if name.endswith(".parquet"))


def test_every_source_and_department_file_is_written(small_world: Path) -> None:
    for name in COUNCIL:
        assert (small_world / "council/sources" / f"{name}.parquet").is_file()
    for dept, tables in DEPARTMENTS.items():
        for table in tables:
            assert (small_world / "departments" / dept / f"{table}.parquet").is_file()
    for name in ("persons.parquet", "families.parquet", "effects.json", "identities.parquet"):
        assert (small_world / "truth" / name).is_file()
    assert (small_world / "unit_costs.csv").is_file()


def test_identifier_files_follow_the_linkage_contract(small_world: Path) -> None:
    files = [small_world / "council/sources" / f"{n}.parquet" for n in COUNCIL]
    files += [small_world / "departments" / d / "persons.parquet" for d in DEPARTMENTS]
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for path in files:
        table = pl.read_parquet(path)
        assert table.columns[: len(IDENTIFIERS)] == IDENTIFIERS, path
        assert all(table.schema[c] == pl.String for c in IDENTIFIERS), path
        dobs = table["dob"].drop_nulls()
        assert dobs.map_elements(lambda d: bool(iso.match(d)), return_dtype=pl.Boolean).all(), path
        assert table["record_id"].is_unique().all(), path
        assert set(table["sex"].drop_nulls().unique()) <= {"M", "F"}, path


def test_data_files_never_carry_the_truth(small_world: Path) -> None:
    leaks = {"person_id", "family_id", "naming_group", "cohort", "eligible", "headlines"}
    for path in [*small_world.glob("council/sources/*.parquet"), *small_world.glob("departments/*/*.parquet")]:
        assert not leaks & set(pl.read_parquet_schema(path)), path


def test_rows_are_sorted_by_record_id(small_world: Path) -> None:
    for path in [*small_world.glob("council/sources/*.parquet"), *small_world.glob("departments/*/persons.parquet")]:
        ids = pl.read_parquet(path, columns=["record_id"])["record_id"]
        assert ids.is_sorted(), path


def test_truth_names_the_person_behind_every_record(small_world: Path) -> None:
    truth = pl.read_parquet(small_world / "truth/persons.parquet")
    for name in COUNCIL:
        ids = pl.read_parquet(small_world / "council/sources" / f"{name}.parquet", columns=["record_id"])
        mapped = truth.filter(pl.col("source") == f"council/{name}")
        assert sorted(mapped["record_id"]) == sorted(ids["record_id"]), name
    assert truth.select(["source", "record_id"]).is_unique().all()


def test_each_department_holds_the_whole_population_once(small_world: Path) -> None:
    truth = pl.read_parquet(small_world / "truth/persons.parquet")
    for dept in DEPARTMENTS:
        people = pl.read_parquet(small_world / "departments" / dept / "persons.parquet")
        assert people.height == 8000
        mapped = truth.filter(pl.col("source") == f"departments/{dept}/persons")
        assert mapped["person_id"].n_unique() == 8000
        assert set(mapped["record_id"]) == set(people["record_id"])


def test_event_tables_key_on_the_departments_person_record(small_world: Path) -> None:
    for dept, tables in DEPARTMENTS.items():
        persons = set(pl.read_parquet(small_world / "departments" / dept / "persons.parquet")["record_id"])
        for table in tables[1:]:
            keys = set(pl.read_parquet(small_world / "departments" / dept / f"{table}.parquet")["record_id"])
            assert keys <= persons, (dept, table)


def test_unit_costs_say_they_are_illustrative(small_world: Path) -> None:
    costs = pl.read_csv(small_world / "unit_costs.csv")
    assert {"item", "unit", "cost_gbp", "illustrative"} <= set(costs.columns)
    assert costs["illustrative"].all()
    assert {"looked_after_child", "custodial_sentence", "jsa_claim", "child_in_need_episode"} <= set(costs["item"])


def test_programme_lists_every_member_of_attached_families(small_world: Path) -> None:
    families = pl.read_parquet(small_world / "truth/families.parquet")
    truth = pl.read_parquet(small_world / "truth/persons.parquet")
    programme = truth.filter(pl.col("source") == "council/programme")
    attached = families.filter(pl.col("cohort") == "attached")
    assert set(programme["family_id"]) == set(attached["family_id"])
    sizes = programme.group_by("family_id").len().join(attached, on="family_id")
    assert (sizes["len"] == sizes["n_members"]).all()


@pytest.mark.parametrize("department", ["dwp", "moj", "dfe"])
def test_link_task_pairs_cohort_records_with_department_records(
    small_world: Path, tmp_path: Path, department: str
) -> None:
    from evalink.synth import link_task

    counts = link_task(small_world, tmp_path, department)
    left = pl.read_parquet(tmp_path / "left.parquet")
    right = pl.read_parquet(tmp_path / "right.parquet")
    pairs = pl.read_parquet(tmp_path / "truth.parquet")
    assert left.columns == IDENTIFIERS and right.columns == IDENTIFIERS
    assert counts == {"left": left.height, "right": right.height, "truth": pairs.height}
    assert pairs.height == left.height > 0
    assert pairs["left_id"].is_unique().all() and pairs["right_id"].is_unique().all()
    assert set(pairs["left_id"]) == set(left["record_id"])
    assert set(pairs["right_id"]) <= set(right["record_id"])
    assert set(pairs["naming_group"]) <= {"white_british", "sikh", "muslim", "other"}


def test_a_benefit_claim_lists_the_household_under_one_reference(small_world: Path) -> None:
    claims = pl.read_parquet(small_world / "council/sources/worklessness.parquet")
    truth = pl.read_parquet(small_world / "truth/persons.parquet").filter(
        pl.col("source") == "council/worklessness"
    )
    true_dob = pl.col("dob").alias("true_dob")
    rows = claims.join(truth.select("record_id", "family_id", true_dob), on="record_id")
    per_claim = rows.group_by("claim_ref").agg(
        (pl.col("role") == "claimant").sum().alias("claimants"),
        pl.col("family_id").n_unique().alias("households"),
        pl.len().alias("members"),
    )
    assert (per_claim["claimants"] == 1).all()
    assert (per_claim["households"] == 1).all()
    assert per_claim["members"].mean() > 2  # claims list partners and children, not just the claimant
    dependants = rows.filter(pl.col("role") == "dependant")
    age = (pl.col("start_date") - pl.col("true_dob").str.to_date()).dt.total_days() / 365.25
    assert dependants.select((age < 16).all()).item()
