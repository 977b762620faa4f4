"""`evalink intruder --node LINKER_DIR --project NAME`: the motivated-intruder test of a
project's dataset from the command line, on the demo's nodes; a policy whose intruder
names a column the dataset lacks is one line and exit code 2."""

from __future__ import annotations

import json

import yaml

from evalink.examples import example


def test_the_linker_reruns_the_attack_on_an_assembled_project(flow, env, evalink):
    result = evalink("intruder", "--node", flow / "linker", "--project", "demo-5",
                     "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["assembled"] is True
    by_id = {r["intruder"]: r for r in report["intruders"]}
    assert set(by_id) == {"council", "council-services", "outsider"}
    assert by_id["council"]["within"] and by_id["outsider"]["within"]
    assert not by_id["council-services"]["enforced"]
    # On the exact table the council finds every family by what it sent alone.
    before = {r["intruder"]: r for r in report["before"]}
    assert before["council"]["reidentified"] == before["council"]["units"] == report["families"]
    assert report["smallest_class"] >= report["k"]


def test_a_project_not_yet_assembled_is_tested_as_it_would_be_released(flow, env, evalink):
    result = evalink("intruder", "--node", flow / "linker", "--project", "not-yet")
    assert result.exit_code == 0, result.output
    assert "not assembled yet" in result.output
    assert "released:    council: 0 of" in result.output


def test_the_attack_runs_only_at_the_linker(flow, env, evalink):
    result = evalink("intruder", "--node", flow / "research", "--project", "demo-5")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


def test_an_intruder_naming_a_column_the_dataset_lacks_is_one_line_and_exit_2(
    tmp_path, evalink
):
    document = yaml.safe_load(example("troubled-families.yaml").read_text())
    document["intruders"][0]["knows"].append("postcode")
    bad = tmp_path / "policy.yaml"
    bad.write_text(yaml.safe_dump(document, sort_keys=False))
    result = evalink("policy", "check", bad)
    assert result.exit_code == 2
    assert "intruders[0].knows" in result.output
    assert "'postcode' is not a field of dataset 'research_dataset'" in result.output
    assert "Traceback" not in result.output


def test_every_outcome_row_keeps_its_months_since_the_index_date(flow, env):
    import polars as pl

    from evalink.node import Node
    from tests.flow.conftest import PASSPHRASE

    with Node.open(flow / "research", PASSPHRASE) as research:
        released = pl.from_arrow(research.read_dataset("research_dataset"))
    outcomes = released.filter(pl.col("outcome").is_not_null())
    assert outcomes.height > 0
    assert outcomes["outcome_start_month"].null_count() == 0
    # Months since the index date, never a calendar date.
    for column in ("outcome_start_month", "outcome_end_month", "index_period"):
        assert not released[column].drop_nulls().str.contains(r"^\d{4}-\d{2}$").any()
    # A row with no outcome has no months either (not month 0).
    assert released.filter(pl.col("outcome").is_null())["outcome_start_month"].null_count() == (
        released.filter(pl.col("outcome").is_null()).height
    )
