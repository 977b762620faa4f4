"""The table register of a research node and its differencing check.

A table that passes every cell check can still give people away beside one already
released: subtract one from the other and the difference is a group of its own. The
register keeps the units behind every cell and population of what a project prepared
and released, and finds those differences.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalink.disclosure import TableSpec, Thresholds, safe_table
from evalink.disclosure.register import (
    REGISTER,
    Register,
    RegisterEntry,
    differences,
    published_groups,
)
from evalink.errors import InputError
from evalink.node import Node

PASSPHRASE = "synthetic test passphrase"
EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "troubled-families.yaml"
AREAS = ("Ashfield", "Brookmere", "Cinderford")
BY_AREA = TableSpec(index=("local_authority",), columns="sex", unit="pseudonym")


def persons(counts: dict[tuple[str, str], int], *, wave: int = 1, start: int = 0) -> pd.DataFrame:
    """Invented persons: `counts[(area, sex)]` of each, with pseudonyms no real data has."""
    rows = []
    for (area, sex), count in counts.items():
        for _ in range(count):
            rows.append(
                {
                    "pseudonym": f"PSQZ{start + len(rows):05d}",
                    "local_authority": area,
                    "sex": sex,
                    "wave": wave,
                }
            )
    return pd.DataFrame(rows)


def everyone(per_cell: int = 20) -> dict[tuple[str, str], int]:
    return {(area, sex): per_cell for area in AREAS for sex in ("F", "M")}


@pytest.fixture
def research(tmp_path: Path, _empty_research: Path) -> Path:
    """A research node holding nothing yet: a copy of one made once for this module."""
    directory = tmp_path / "research"
    shutil.copytree(_empty_research, directory, symlinks=True)
    return directory


def table_of(rows: pd.DataFrame, spec: TableSpec = BY_AREA):
    return safe_table(rows, Thresholds(), spec)


def released(
    node: Node,
    rows: pd.DataFrame,
    *,
    table_id: str = "t1" * 32,
    release_id: str = "R-1",
    name: str = "by-area",
) -> Register:
    register = Register(node)
    register.record(table_of(rows), name=name, table_id=table_id, dataset="research_dataset")
    register.mark_released([table_id], release_id)
    return register


def test_a_recorded_table_is_prepared_with_its_name_spec_and_source(research):
    rows = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        Register(node).record(
            table_of(rows), name="by-area", table_id="a" * 64, dataset="research_dataset"
        )
    with Node.open(research, PASSPHRASE) as node:
        entry = Register(node).entry("a" * 64)
    assert entry is not None
    assert (entry.name, entry.spec, entry.dataset) == ("by-area", BY_AREA, "research_dataset")
    assert (entry.status, entry.release_id) == ("prepared", None)
    assert entry.cell_units[("Ashfield", "F")] == frozenset(
        rows[(rows.local_authority == "Ashfield") & (rows.sex == "F")].pseudonym
    )
    assert entry.population == frozenset(rows.pseudonym)


def test_a_table_marked_released_names_its_release(research):
    with Node.open(research, PASSPHRASE) as node:
        released(node, persons(everyone()), release_id="R-7")
        entry = Register(node).entry("t1" * 32)
    assert entry is not None and (entry.status, entry.release_id) == ("released", "R-7")


def test_a_table_not_in_the_register_has_no_entry_and_cannot_be_released(research):
    with Node.open(research, PASSPHRASE) as node:
        register = Register(node)
        assert register.entry("f" * 64) is None
        with pytest.raises(InputError, match="not in the table register"):
            register.mark_released(["f" * 64], "R-1")


def test_the_same_table_over_a_population_3_people_smaller_conflicts_with_its_release(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        register = released(node, everyone_, name="by-area", release_id="R-1")
        # The same table without three people of Ashfield: their cell, their area's
        # total, their sex's total and the grand total each differ by three.
        conflicts = register.differencing(table_of(everyone_.iloc[3:]))
    assert {c.where() for c in conflicts} == {
        "the whole population",
        "a group by local_authority",
        "a group by sex",
        "a group by local_authority, sex",
    }
    assert {(c.earlier_name, c.release_id) for c in conflicts} == {("by-area", "R-1")}


def test_the_same_table_over_a_population_12_people_smaller_in_one_cell_does_not_conflict(
    research,
):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        register = released(node, everyone_)
        assert register.differencing(table_of(everyone_.iloc[12:])) == []


def test_a_population_15_smaller_still_conflicts_where_3_of_them_make_one_cell(research):
    everyone_ = persons(everyone())
    wave_two = persons({("Ashfield", "F"): 3, ("Brookmere", "M"): 12}, wave=2, start=1000)
    with Node.open(research, PASSPHRASE) as node:
        register = released(node, pd.concat([everyone_, wave_two], ignore_index=True))
        conflicts = register.differencing(table_of(everyone_))
    assert {c.group for c in conflicts} == {
        (("local_authority", "Ashfield"),),
        (("sex", "F"),),
        (("local_authority", "Ashfield"), ("sex", "F")),
    }


def test_a_table_by_other_columns_is_compared_on_the_groups_both_publish(research):
    everyone_ = persons(everyone())
    by_wave = TableSpec(index=("local_authority",), columns="wave", unit="pseudonym")
    with Node.open(research, PASSPHRASE) as node:
        register = released(node, everyone_)
        # Both publish each area's total and the grand total; a cell by sex and one by
        # wave are different groups.
        conflicts = register.differencing(table_of(everyone_.iloc[2:], by_wave))
    assert {c.where() for c in conflicts} == {"the whole population", "a group by local_authority"}


def test_a_table_identical_to_a_released_one_does_not_conflict(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        assert released(node, everyone_).differencing(table_of(everyone_)) == []


def test_prepared_tables_count_only_when_checking_against_all(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        register = Register(node)
        register.record(
            table_of(everyone_), name="draft", table_id="d" * 64, dataset="research_dataset"
        )
        smaller = table_of(everyone_.iloc[1:])
        assert register.differencing(smaller) == []
        assert {c.earlier_name for c in register.differencing(smaller, against="all")} == {"draft"}


def test_the_files_of_one_request_are_checked_against_each_other_by_table_id(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        register = Register(node)
        register.record(
            table_of(everyone_), name="all", table_id="a" * 64, dataset="research_dataset"
        )
        register.record(
            table_of(everyone_.iloc[4:]), name="most", table_id="b" * 64, dataset="research_dataset"
        )
        register.record(
            table_of(everyone_.iloc[40:]),
            name="fewer",
            table_id="c" * 64,
            dataset="research_dataset",
        )
        conflicts = register.differencing_of("b" * 64, against=["a" * 64, "c" * 64])
    assert {c.earlier_name for c in conflicts} == {"all"}


def test_a_difference_is_said_as_fewer_than_the_threshold_and_by_column_names_only(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        conflicts = released(node, everyone_).differencing(table_of(everyone_.iloc[1:]))
    lines = [c.line() for c in conflicts]
    assert all("by fewer than 10 units" in line and "release R-1" in line for line in lines)
    assert not any(area in line for line in lines for area in AREAS)


def test_the_registers_units_are_inside_the_nodes_encrypted_store(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        released(node, everyone_)
        assert node.parts(REGISTER)[0].location == "store"
    pseudonym = everyone_.pseudonym.iloc[0].encode()
    assert not [p for p in research.rglob("*") if p.is_file() and pseudonym in p.read_bytes()]


def test_the_register_is_due_no_later_than_the_dataset_it_came_from(research):
    everyone_ = persons(everyone())
    with Node.open(research, PASSPHRASE) as node:
        node.write_dataset("research_dataset", pa.Table.from_pandas(everyone_))
        released(node, everyone_)
        (data,) = node.parts("research_dataset")
        register_parts = node.parts(REGISTER)
    assert data.destroy_by is not None
    assert all(p.destroy_by is not None and p.destroy_by <= data.destroy_by for p in register_parts)


# --- the check itself, without a node ---------------------------------------------


def _units(rows: pd.DataFrame) -> tuple[dict[tuple[str, ...], frozenset[str]], frozenset[str]]:
    """A table by area and sex's units, as SafeTable.cell_units and .population hold them."""
    cells = {
        (str(area), str(sex)): frozenset(group.pseudonym)
        for (area, sex), group in rows.groupby(["local_authority", "sex"])
    }
    return cells, frozenset(rows.pseudonym)


def _released_entry(rows: pd.DataFrame) -> RegisterEntry:
    from datetime import date

    cells, population = _units(rows)
    return RegisterEntry(
        table_id="x" * 64, name="earlier", spec=BY_AREA, dataset="d", summary={},
        recorded=date(2020, 6, 1), receipt=date(2020, 6, 1), status="released",
        release_id="R", cell_units=cells, population=population,
    )


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=10, max_value=30), min_size=4, max_size=4),
    cell=st.integers(min_value=0, max_value=3),
    removed=st.integers(min_value=0, max_value=25),
)
def test_removing_people_from_one_cell_conflicts_exactly_when_fewer_than_10_go(
    sizes, cell, removed
):
    keys = [("Ashfield", "F"), ("Ashfield", "M"), ("Brookmere", "F"), ("Brookmere", "M")]
    rows = persons(dict(zip(keys, sizes, strict=True)))
    area, sex = keys[cell]
    gone = rows[(rows.local_authority == area) & (rows.sex == sex)].index[:removed]
    cells, population = _units(rows.drop(gone))
    found = differences(
        published_groups(BY_AREA, cells, population), ("local_authority", "sex"),
        [_released_entry(rows)], 10,
    )
    assert bool(found) == (0 < min(removed, sizes[cell]) < 10)
