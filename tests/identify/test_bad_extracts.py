"""`evalink identify` on a council's bad extracts, from the analyst's side.

Each bad file stops the run with one line naming the file and the place in it (exit 2)
and leaves the council node as it was, or its bad rows are quarantined with a reason.
No value from the file is ever printed: the extracts are people's records.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from evalink.cli import app
from tests.conftest import REPO

RULES = REPO / "examples" / "rules-troubled-families-2015.yaml"
PERSONAL = ("forename", "surname", "dob", "postcode", "address", "nino")


@pytest.fixture(scope="module")
def csv_sources(small_world, tmp_path_factory) -> Path:
    """The synthetic council's extracts, the police one as a CSV export."""
    sources = tmp_path_factory.mktemp("csv_world") / "sources"
    shutil.copytree(small_world / "council" / "sources", sources)
    police = pl.read_parquet(sources / "police.parquet")
    police.write_csv(sources / "police.csv")
    (sources / "police.parquet").unlink()
    return sources


@pytest.fixture(scope="module")
def csv_mapping(csv_sources) -> Path:
    text = (REPO / "examples" / "mapping-synth.yaml").read_text()
    path = csv_sources.parent / "mapping.yaml"
    path.write_text(text.replace("file: police.parquet", "file: police.csv"))
    return path


@pytest.fixture(scope="module")
def council_after_a_run(csv_sources, csv_mapping, tmp_path_factory, example_policy_path):
    """A council node holding last month's identify run."""
    from evalink.node import init_node

    with pytest.MonkeyPatch.context() as env:
        env.setenv("EVALINK_SCRYPT_LOG2N", "10")
        env.setenv("EVALINK_PASSPHRASE", "synthetic test passphrase")
        council = tmp_path_factory.mktemp("council") / "council"
        init_node(
            council,
            party="council",
            policy_path=example_policy_path,
            passphrase="synthetic test passphrase",
        )
        result = CliRunner().invoke(app, _identify_args(council, csv_sources, csv_mapping))
        assert result.exit_code == 0, result.output
    return council


def _identify_args(council: Path, sources: Path, mapping: Path) -> list[str]:
    return [
        "identify",
        "--node",
        str(council),
        "--sources",
        str(sources),
        "--mapping",
        str(mapping),
        "--rules",
        str(RULES),
        "--as-of",
        "2015-03-31",
    ]


def _held(council: Path) -> dict[str, list[tuple[str, str | None, int]]]:
    """What the node holds, part by part, with each part's checksum."""
    from evalink.node import Node

    with Node.open(council, "synthetic test passphrase") as node:
        return {
            name: [(p.part_id, p.sha256, p.rows) for p in parts]
            for name, parts in node.datasets().items()
        }


@pytest.fixture
def sources(csv_sources, tmp_path) -> Path:
    """A copy of the extracts this test may break."""
    copy = tmp_path / "sources"
    shutil.copytree(csv_sources, copy)
    return copy


def _personal_values(path: Path) -> set[str]:
    """Every identifier value in an extract, to check none reaches the output."""
    if path.suffix == ".parquet":
        table = pq.ParquetFile(path).read()  # by position: a column may be named twice
        columns = [
            table.column(i).cast("string").to_pylist()
            for i, name in enumerate(table.schema.names)
            if name in PERSONAL
        ]
    else:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        columns = [frame[name].to_list() for name in PERSONAL if name in frame.columns]
    # Three characters or more: a shorter value (a sex, an empty nino) proves nothing.
    return {v for column in columns for v in column if v is not None and len(v) >= 3}


def _refused_in_one_line(result, council: Path, held_before, extract: Path) -> str:
    assert "identify_families" in held_before  # last month's run, which must survive
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {extract}: ")
    assert not [v for v in _personal_values(extract) if v in result.output]
    assert _held(council) == held_before
    return lines[0]


def test_a_csv_header_naming_a_column_twice_stops_identify_naming_the_column(
    council_after_a_run, sources, csv_mapping, cheap_nodes, evalink
):
    held = _held(council_after_a_run)
    police = sources / "police.csv"
    header, rest = police.read_text().split("\n", 1)
    names = header.split(",")
    names[-1] = "surname"  # a second 'surname' where the last column's name was
    police.write_text(",".join(names) + "\n" + rest)
    first = names.index("surname") + 1
    result = evalink(*_identify_args(council_after_a_run, sources, csv_mapping))
    line = _refused_in_one_line(result, council_after_a_run, held, police)
    assert f"column 'surname' twice (columns {first} and {len(names)})" in line


def test_a_parquet_schema_naming_a_column_twice_stops_identify_naming_the_column(
    council_after_a_run, sources, csv_mapping, cheap_nodes, evalink
):
    held = _held(council_after_a_run)
    health = sources / "health.parquet"
    table = pq.read_table(health)
    names = table.schema.names
    pq.write_table(table.rename_columns([*names[:-1], "forename"]), health)
    result = evalink(*_identify_args(council_after_a_run, sources, csv_mapping))
    line = _refused_in_one_line(result, council_after_a_run, held, health)
    first = names.index("forename") + 1
    assert f"the schema names column 'forename' twice (columns {first} and {len(names)})" in line


def test_a_header_only_extract_stops_identify_and_says_how_to_allow_it(
    council_after_a_run, sources, csv_mapping, cheap_nodes, evalink
):
    held = _held(council_after_a_run)
    police = sources / "police.csv"
    police.write_text(police.read_text().split("\n", 1)[0] + "\n")
    result = evalink(*_identify_args(council_after_a_run, sources, csv_mapping))
    line = _refused_in_one_line(result, council_after_a_run, held, police)
    assert "source 'police' has a header but no rows" in line
    assert "set `allow_empty: true` for source 'police' in the mapping" in line


def test_a_windows_1252_byte_stops_identify_naming_its_line_and_the_fix(
    council_after_a_run, sources, csv_mapping, cheap_nodes, evalink
):
    held = _held(council_after_a_run)
    police = sources / "police.csv"
    lines = police.read_text().splitlines(keepends=True)
    # One record saved from Excel on Windows: its 'ë' is the single byte 0xeb.
    at = 16  # the 17th physical line
    forename = lines[at].split(",")[1]
    raw = [line.encode() for line in lines]
    raw[at] = lines[at].replace(forename, "Zoë", 1).encode("cp1252")
    police.write_bytes(b"".join(raw))
    result = evalink(*_identify_args(council_after_a_run, sources, csv_mapping))
    line = _refused_in_one_line(result, council_after_a_run, held, police)
    assert line == (
        f"error: {police}: line 17: byte 0xeb is not valid utf-8; set `encoding: cp1252` "
        "for source 'police' in the mapping if the file came from Excel on Windows"
    )


def test_allow_empty_lets_identify_run_with_no_records_from_that_service(
    sources, csv_mapping, tmp_path, council, evalink
):
    police = sources / "police.csv"
    police.write_text(police.read_text().split("\n", 1)[0] + "\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        csv_mapping.read_text().replace(
            "file: police.csv\n", "file: police.csv\n    allow_empty: true\n"
        )
    )
    out = tmp_path / "out"
    result = evalink(*_identify_args(council, sources, mapping), "--out", out)
    assert result.exit_code == 0, result.output
    persons = pl.read_parquet(out / "persons.parquet")
    assert persons.height > 0
    assert persons.filter(pl.col("source") == "police").height == 0


def test_a_header_repeated_inside_an_extract_is_quarantined_by_identify(
    sources, csv_mapping, council, evalink
):
    police = sources / "police.csv"
    text = police.read_text()
    header = text.split("\n", 1)[0] + "\n"
    police.write_text(text + header)  # a second, empty export appended to the first
    result = evalink(*_identify_args(council, sources, csv_mapping))
    assert result.exit_code == 0, result.output
    assert "quarantined 1 rows of police: header row repeated inside the file" in result.output
    assert "rows of police: duplicate record id" not in result.output
    assert "rows of police: unparseable date" not in result.output


@pytest.fixture
def council(tmp_path, cheap_nodes, example_policy_path) -> Path:
    from evalink.node import init_node

    init_node(
        tmp_path / "council",
        party="council",
        policy_path=example_policy_path,
        passphrase=cheap_nodes,
    )
    return tmp_path / "council"


CONTRACT = "record_id,forename,surname,dob,sex,postcode,address,nino\n"


def test_link_names_the_line_of_a_byte_that_is_not_utf8(tmp_path, evalink):
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    row = "L1,Zoë,Quillfeather,2001-02-03,F,ZZ1 1AA,12 Hill Street,\n"
    left.write_bytes(CONTRACT.encode() + row.encode("cp1252"))
    right.write_text(CONTRACT + row.replace("L1", "R1"))
    result = evalink("link", "--left", left, "--right", right, "--out", tmp_path / "links.parquet")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"error: {left}: line 2: byte 0xeb is not valid utf-8; "
        "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    )


def test_link_names_a_column_given_twice(tmp_path, evalink):
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    left.write_text(CONTRACT.replace(",nino", ",surname") + "L1,Zoë,Quillfeather,,,,,Marrowby\n")
    right.write_text(CONTRACT + "R1,Zoë,Quillfeather,,,,,\n")
    result = evalink("link", "--left", left, "--right", right, "--out", tmp_path / "links.parquet")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"error: {left}: the header names column 'surname' twice (columns 3 and 8); "
        "give each column its own name"
    )
