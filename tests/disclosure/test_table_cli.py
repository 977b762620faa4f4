"""`evalink table`: a safe table from a file or from the research node's own data, and
at a node, refused when it differs from a released table by a small group."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from evalink.cli import app
from evalink.disclosure.register import Register
from evalink.node import Node

PASSPHRASE = "synthetic test passphrase"
EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "troubled-families.yaml"
AREAS = ("Ashfield", "Brookmere", "Cinderford")
BY_AREA = ("--index", "local_authority", "--columns", "sex", "--unit", "pseudonym")


def persons(counts: dict[tuple[str, str], int], *, wave: int, start: int = 0) -> pd.DataFrame:
    """Invented persons with pseudonyms no real data has, and a made-up cost."""
    rows = []
    for (area, sex), count in counts.items():
        for _ in range(count):
            number = start + len(rows)
            rows.append(
                {
                    "pseudonym": f"PSQZ{number:05d}",
                    "local_authority": area,
                    "sex": sex,
                    "wave": wave,
                    "keyworker_cost": 1000 + 37 * number,
                }
            )
    return pd.DataFrame(rows)


def everyone() -> pd.DataFrame:
    return persons({(area, sex): 20 for area in AREAS for sex in ("F", "M")}, wave=1)


def evalink(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(autouse=True)
def _cheap_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALINK_SCRYPT_LOG2N", "10")
    monkeypatch.setenv("EVALINK_PASSPHRASE", PASSPHRASE)


@pytest.fixture
def research_node(_empty_research: Path):
    """Make a research node at a directory, holding these rows as its research_dataset
    (a copy of an empty node made once for this module: key rings cost time)."""

    def make(directory: Path, rows: pd.DataFrame) -> Path:
        shutil.copytree(_empty_research, directory, symlinks=True)
        with Node.open(directory, PASSPHRASE) as node:
            node.write_dataset("research_dataset", pa.Table.from_pandas(rows, preserve_index=False))
        return directory

    return make


def release(node_dir: Path, out: Path, release_id: str) -> str:
    """What the airlock does when it publishes a table: mark it released in the register."""
    table_id = hashlib.sha256(out.read_bytes()).hexdigest()
    with Node.open(node_dir, PASSPHRASE) as node:
        Register(node).mark_released([table_id], release_id)
    return table_id


@pytest.fixture
def rows_csv(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    everyone().to_csv(path, index=False)
    return path


def test_a_table_from_a_file_writes_the_publishable_table_and_every_cells_checks(
    tmp_path, rows_csv
):
    out = tmp_path / "by-area.csv"
    result = evalink(
        "table", "--policy", EXAMPLE_POLICY, "--data", rows_csv, *BY_AREA, "--out", out
    )
    assert result.exit_code == 0, result.output
    published = pd.read_csv(out)
    assert list(published["local_authority"]) == [*AREAS, "Total"]
    assert published.set_index("local_authority").loc["Ashfield", ["F", "M", "Total"]].tolist() == [
        20,
        20,
        40,
    ]
    checks = pd.read_csv(tmp_path / "by-area.checks.csv")
    assert set(checks["status"]) == {"published"}
    assert "12 of 12 cells published" in result.output


def test_a_table_without_margins_has_no_totals(tmp_path, rows_csv):
    out = tmp_path / "by-area.csv"
    result = evalink("table", "--policy", EXAMPLE_POLICY, "--data", rows_csv, *BY_AREA,
                     "--no-margins", "--out", out)
    assert result.exit_code == 0, result.output
    published = pd.read_csv(out)
    assert list(published.columns) == ["local_authority", "F", "M"]
    assert list(published["local_authority"]) == list(AREAS)


def test_a_where_without_an_equals_sign_is_one_line(tmp_path, rows_csv):
    line = one_line_error(evalink("table", "--policy", EXAMPLE_POLICY, "--data", rows_csv,
                                  *BY_AREA, "--where", "wave", "--out", tmp_path / "o.csv"))
    assert "--where" in line and "COL=VALUE" in line


def test_index_columns_are_given_comma_separated_or_repeated(tmp_path, rows_csv):
    both = [
        evalink(
            "table",
            "--policy",
            EXAMPLE_POLICY,
            "--data",
            rows_csv,
            *index,
            "--columns",
            "sex",
            "--out",
            tmp_path / f"{n}.csv",
        )
        for n, index in enumerate(
            [("--index", "local_authority,wave"), ("--index", "local_authority", "--index", "wave")]
        )
    ]
    assert [r.exit_code for r in both] == [0, 0]
    assert (tmp_path / "0.csv").read_bytes() == (tmp_path / "1.csv").read_bytes()


def test_a_table_at_a_node_is_recorded_in_its_register_and_audited_without_units(
    tmp_path, research_node
):
    node_dir = research_node(tmp_path / "research", everyone())
    out = tmp_path / "by-area.csv"
    result = evalink("table", "--node", node_dir, "--dataset", "research_dataset", *BY_AREA,
                     "--name", "persons by area", "--out", out)
    assert result.exit_code == 0, result.output
    table_id = hashlib.sha256(out.read_bytes()).hexdigest()
    with Node.open(node_dir, PASSPHRASE) as node:
        entry = Register(node).entry(table_id)
    assert entry is not None
    assert (entry.name, entry.dataset, entry.status) == (
        "persons by area", "research_dataset", "prepared")
    log = [json.loads(line) for line in (node_dir / "audit" / "log.jsonl").read_text().splitlines()]
    (audited,) = [e for e in log if e["action"] == "table"]
    assert audited["details"]["table_id"] == table_id
    assert audited["details"]["cells_by_status"]["published"] == 12
    reads = [
        e for e in log if e["action"] == "read" and e["details"]["dataset"] == "research_dataset"
    ]
    assert [r["details"]["purpose"] for r in reads] == ["evaluation"]
    assert "PSQZ" not in (node_dir / "audit" / "log.jsonl").read_text()


def test_a_release_by_area_then_the_same_table_over_fewer_than_10_people_fewer_is_refused(
    tmp_path, research_node
):
    wave_two = persons({("Ashfield", "F"): 3}, wave=2, start=1000)
    node_dir = research_node(tmp_path / "research", pd.concat([everyone(), wave_two]))
    first = tmp_path / "by-area.csv"
    made = evalink(
        "table", "--node", node_dir, "--dataset", "research_dataset", *BY_AREA, "--out", first
    )
    assert made.exit_code == 0, made.output
    release(node_dir, first, "R-1")
    second = tmp_path / "by-area-wave-1.csv"
    refused = evalink(
        "table",
        "--node",
        node_dir,
        "--dataset",
        "research_dataset",
        *BY_AREA,
        "--where",
        "wave=1",
        "--out",
        second,
    )
    line = one_line_error(refused)
    assert "table 'by-area'" in line and "release R-1" in line and "fewer than 10" in line
    assert "rule 'published-output-checks'" in line
    assert not second.exists() and not (tmp_path / "by-area-wave-1.checks.csv").exists()
    log = (node_dir / "audit" / "log.jsonl").read_text().splitlines()
    (audited,) = [json.loads(e) for e in log if json.loads(e)["action"] == "table-refused"]
    assert audited["details"]["releases"] == ["R-1"]


def test_a_release_by_area_then_the_same_table_over_12_people_fewer_is_allowed(
    tmp_path, research_node
):
    wave_two = persons({("Ashfield", "F"): 12}, wave=2, start=1000)
    node_dir = research_node(tmp_path / "research", pd.concat([everyone(), wave_two]))
    first = tmp_path / "by-area.csv"
    assert (
        evalink(
            "table", "--node", node_dir, "--dataset", "research_dataset", *BY_AREA, "--out", first
        ).exit_code
        == 0
    )
    release(node_dir, first, "R-1")
    second = tmp_path / "by-area-wave-1.csv"
    allowed = evalink(
        "table",
        "--node",
        node_dir,
        "--dataset",
        "research_dataset",
        *BY_AREA,
        "--where",
        "wave=1",
        "--out",
        second,
    )
    assert allowed.exit_code == 0, allowed.output
    assert second.exists()


def test_a_file_of_the_nodes_own_rows_is_checked_and_registered_at_the_node(
    tmp_path, research_node
):
    node_dir = research_node(tmp_path / "research", everyone())
    first = tmp_path / "by-area.csv"
    assert (
        evalink(
            "table", "--node", node_dir, "--dataset", "research_dataset", *BY_AREA, "--out", first
        ).exit_code
        == 0
    )
    release(node_dir, first, "R-1")
    fewer = tmp_path / "fewer.csv"
    everyone().iloc[2:].to_csv(fewer, index=False)
    refused = evalink(
        "table", "--node", node_dir, "--data", fewer, *BY_AREA, "--out", tmp_path / "again.csv"
    )
    assert "release R-1" in one_line_error(refused)


# --- bad input: one line naming the file or column, exit 2, no OUT file -------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--index", "local_authority", "--columns", "ward"), "ward"),
        (
            (
                "--index",
                "local_authority",
                "--columns",
                "sex",
                "--values",
                "sex",
                "--aggfunc",
                "sum",
            ),
            "sex",
        ),
        (("--index", "local_authority", "--columns", "sex", "--unit", "family"), "family"),
        (("--index", "local_authority", "--columns", "sex", "--where", "ward=1"), "ward"),
    ],
    ids=[
        "a column the data lacks",
        "a non-numeric values column",
        "a unit the data lacks",
        "a filter on a column the data lacks",
    ],
)
def test_a_bad_table_from_a_file_is_one_line_naming_it_and_writes_nothing(
    tmp_path, rows_csv, args, named
):
    out = tmp_path / "out.csv"
    line = one_line_error(
        evalink("table", "--policy", EXAMPLE_POLICY, "--data", rows_csv, *args, "--out", out)
    )
    assert named in line and "rows.csv" in line
    assert list(tmp_path.iterdir()) == [rows_csv]


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    line = one_line_error(
        evalink(
            "table",
            "--policy",
            EXAMPLE_POLICY,
            "--data",
            tmp_path / "absent.csv",
            *BY_AREA,
            "--out",
            tmp_path / "o.csv",
        )
    )
    assert "absent.csv" in line
    assert not (tmp_path / "o.csv").exists()


def test_an_unknown_dataset_and_a_missing_column_at_a_node_are_one_line_each(
    tmp_path, research_node
):
    node_dir = research_node(tmp_path / "research", everyone())
    unknown = one_line_error(
        evalink(
            "table",
            "--node",
            node_dir,
            "--dataset",
            "nosuch",
            *BY_AREA,
            "--out",
            tmp_path / "o.csv",
        )
    )
    assert "nosuch" in unknown
    lacking = one_line_error(
        evalink(
            "table",
            "--node",
            node_dir,
            "--dataset",
            "research_dataset",
            "--index",
            "ward",
            "--columns",
            "sex",
            "--out",
            tmp_path / "o.csv",
        )
    )
    assert "ward" in lacking and "research_dataset" in lacking
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--data", "rows.csv"),  # no policy, no node
        ("--policy", EXAMPLE_POLICY),  # no data at all
        ("--policy", EXAMPLE_POLICY, "--dataset", "research_dataset"),  # a dataset, no node
    ],
    ids=["data without a policy", "no data", "a dataset without a node"],
)
def test_a_table_without_its_source_is_a_usage_error(tmp_path, args):
    line = one_line_error(evalink("table", *args, *BY_AREA, "--out", tmp_path / "o.csv"))
    assert "see `evalink table --help`" in line


def test_a_policy_other_than_the_nodes_own_is_refused_at_a_node(tmp_path, research_node):
    node_dir = research_node(tmp_path / "research", everyone())
    other = tmp_path / "other-policy.yaml"
    other.write_text(EXAMPLE_POLICY.read_text() + "\n# edited\n")
    line = one_line_error(
        evalink(
            "table",
            "--node",
            node_dir,
            "--policy",
            other,
            "--dataset",
            "research_dataset",
            *BY_AREA,
            "--out",
            tmp_path / "o.csv",
        )
    )
    assert "other-policy.yaml" in line and "not the policy" in line
    assert not (tmp_path / "o.csv").exists()
