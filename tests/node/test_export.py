"""`export_dataset` and `evalink export`: a dataset leaves a node only as an export rule of
the policy allows, with its purpose audited; a refusal writes nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalink.clock import clock_on
from evalink.errors import PolicyViolation
from evalink.node import Node
from evalink.node.export import export_dataset
from tests.node.conftest import FORENAMES, PASSPHRASE, SURNAMES, Network, synthetic_people

# Before every destroy-by date of the example policy: the nodes keep what they hold.
TODAY = date(2020, 6, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALINK_TODAY", TODAY.isoformat())


def _open(network: Network, name: str) -> Node:
    return Node.open(network.dirs[name], PASSPHRASE, clock=clock_on(TODAY))


def _research_rows(policy, extra: dict[str, list] | None = None) -> pa.Table:
    """Two rows of a synthetic research dataset: every declared field, made-up values."""
    columns = {
        name: [f"{name}-1", f"{name}-2"]
        for name in policy.dataset("research_dataset").field_names()
    }
    return pa.table({**columns, **(extra or {})})


def _audit(node_dir: Path) -> list[dict]:
    lines = (node_dir / "audit" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """Where exports go: empty unless something was written."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


@pytest.fixture
def research(network: Network) -> Path:
    directory = network.add("research")
    with _open(network, "research") as node:
        node.write_dataset("research_dataset", _research_rows(node.policy))
    return directory


def test_research_exports_its_dataset_for_the_evaluation(network, research, tmp_path):
    out = tmp_path / "research.parquet"
    with _open(network, "research") as node:
        exported = export_dataset(node, "research_dataset", out, "evaluation")
    assert (exported.rows, exported.rule, exported.purpose) == (
        2,
        "research-exports-for-analysis",
        "evaluation",
    )
    assert pq.read_table(out).num_rows == 2


def test_the_audit_entry_records_the_rule_and_the_purpose(network, research, tmp_path):
    with _open(network, "research") as node:
        export_dataset(node, "research_dataset", tmp_path / "research.csv")
    (entry,) = [e for e in _audit(research) if e["action"] == "export"]
    assert entry["details"]["purpose"] == "evaluation"
    assert entry["details"]["rule"] == "research-exports-for-analysis"
    assert entry["details"]["rows"] == 2
    reads = [e for e in _audit(research) if e["action"] == "read"]
    assert reads[-1]["details"]["purpose"] == "export: evaluation"


def test_the_linker_cannot_export_identifiers_and_nothing_is_written(council_linker, out_dir):
    with _open(council_linker, "linker") as node:
        node.write_dataset("identifiers", synthetic_people(5))
    out = out_dir / "identifiers.csv"
    with _open(council_linker, "linker") as node, pytest.raises(PolicyViolation) as refused:
        export_dataset(node, "identifiers", out, "evaluation")
    assert refused.value.rule == "no-identifier-exports"
    assert list(out_dir.iterdir()) == []
    (entry,) = [e for e in _audit(council_linker.dirs["linker"]) if e["action"] == "refused"]
    assert entry["details"]["operation"] == "export"
    assert entry["details"]["rule"] == "no-identifier-exports"
    # Not read either: the refusal comes from the catalog's field names alone.
    assert not [
        e for e in _audit(council_linker.dirs["linker"]) if e["action"] == "identifier-read"
    ]


def test_a_refusal_names_fields_never_their_values(council_linker, tmp_path):
    people = synthetic_people(5)
    with _open(council_linker, "linker") as node:
        node.write_dataset("identifiers", people)
    with _open(council_linker, "linker") as node, pytest.raises(PolicyViolation) as refused:
        export_dataset(node, "identifiers", tmp_path / "identifiers.csv")
    message = str(refused.value)
    log = (council_linker.dirs["linker"] / "audit" / "log.jsonl").read_text(encoding="utf-8")
    for value in people["surname"].to_pylist() + people["forename"].to_pylist():
        assert value not in message and value not in log
    assert not any(name in message for name in FORENAMES + SURNAMES)


def test_the_councils_working_datasets_are_not_exported(council_linker, out_dir):
    families = pa.table({"family_key": ["F1"], "headlines": ["health"], "cohort": ["attached"]})
    with _open(council_linker, "council") as node:
        node.write_dataset("identify_families", families)
    with (
        _open(council_linker, "council") as node,
        pytest.raises(PolicyViolation, match="'identify_families' is not declared"),
    ):
        export_dataset(node, "identify_families", out_dir / "families.parquet")
    assert list(out_dir.iterdir()) == []


def test_a_research_dataset_carrying_a_surname_column_is_refused(network, tmp_path):
    network.add("research")
    with _open(network, "research") as node:
        node.write_dataset(
            "research_dataset",
            _research_rows(node.policy, {"surname": ["Quorndon0", "Vardystone1"]}),
            vault=False,
        )
    with _open(network, "research") as node, pytest.raises(PolicyViolation) as refused:
        export_dataset(node, "research_dataset", tmp_path / "research.csv")
    assert refused.value.rule == "no-identifier-exports"
    assert "Quorndon0" not in str(refused.value)


def _export_research(evalink_cli, research: Path, out: Path, purpose: str):
    return evalink_cli(
        *("export", "--node", research, "--dataset", "research_dataset"),
        *("--out", out, "--purpose", purpose),
    )


def test_through_the_cli_a_refusal_is_one_line_exit_2_and_no_file(research, tmp_path, evalink_cli):
    out = tmp_path / "research.csv"
    result = _export_research(evalink_cli, research, out, "marketing")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "purpose 'marketing' is not allowed" in lines[0]
    assert "research-exports-for-analysis" in lines[0]
    assert not out.exists()


def test_through_the_cli_an_allowed_export_says_its_rule_and_purpose(
    research, tmp_path, evalink_cli
):
    out = tmp_path / "research.csv"
    result = _export_research(evalink_cli, research, out, "evaluation")
    assert result.exit_code == 0, result.output
    assert "export rule 'research-exports-for-analysis', purpose 'evaluation'" in result.output
    assert out.read_text(encoding="utf-8").startswith('"pseudonym"')


def test_a_dataset_the_node_does_not_hold_is_one_line(research, out_dir, evalink_cli):
    result = evalink_cli(
        *("export", "--node", research, "--dataset", "identifiers"),
        *("--out", out_dir / "identifiers.csv"),
    )
    assert result.exit_code == 2, result.output
    assert result.output == "error: dataset 'identifiers' is not held by node 'research'\n"
    assert list(out_dir.iterdir()) == []


def test_the_list_still_shows_what_the_node_holds(research, evalink_cli):
    result = evalink_cli("export", "--node", research, "--list")
    assert result.exit_code == 0, result.output
    assert "research_dataset" in result.output
