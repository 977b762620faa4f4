"""The Record of Processing Activities: one row per flow, the UK GDPR Art 30(1) columns."""

from __future__ import annotations

import csv
import io

from evalink.policy import render_ropa
from evalink.policy.render import ROPA_COLUMNS


def test_the_csv_has_a_row_per_flow_and_export_with_every_article_30_column(example_policy):
    rows = list(csv.DictReader(io.StringIO(render_ropa(example_policy, "csv"))))
    assert tuple(rows[0]) == ROPA_COLUMNS
    flows, exports = example_policy.document.flows, example_policy.document.exports
    assert [row["processing activity"].split(":")[0] for row in rows] == [f.id for f in flows] + [
        f"{e.id} (export to a file)" for e in exports
    ]
    assert all(
        row[column]
        for row in rows
        for column in ROPA_COLUMNS
        if column != "data protection officer"
    )
    for row, flow in zip(rows, flows, strict=False):
        assert row["categories of recipients"] == example_policy.party(flow.to).name
        assert flow.lawful_basis in row["lawful basis"]


def test_the_research_export_row_states_its_purpose_classes_and_conditions(example_policy):
    rows = list(csv.DictReader(io.StringIO(render_ropa(example_policy, "csv"))))
    (export,) = example_policy.document.exports
    (row,) = [r for r in rows if r["processing activity"].startswith(f"{export.id} (export")]
    assert export.description in row["processing activity"]
    assert export.special_category_condition in row["lawful basis"]
    assert export.criminal_offence_condition in row["lawful basis"]
    assert (
        "special category data (Art 9): headlines, help_received"
        in row["categories of personal data"]
    )
    kinds = [part.split(":")[0] for part in row["categories of personal data"].split("; ")]
    assert "identifiers" not in kinds and "indirect identifiers" in kinds


def test_department_rows_state_the_thirty_day_erasure(example_policy):
    rows = list(csv.DictReader(io.StringIO(render_ropa(example_policy, "csv"))))
    to_dwp = next(
        r for r in rows if r["processing activity"].startswith("linker-identifiers-to-dwp")
    )
    assert "30 days after they receive it" in to_dwp["time limits for erasure"]


def test_the_markdown_has_a_section_per_flow_and_export(example_policy):
    text = render_ropa(example_policy, "md")
    for flow in example_policy.document.flows:
        assert f"## {flow.id}:" in text
    for export in example_policy.document.exports:
        assert f"## {export.id} (export to a file):" in text


def test_the_ropa_command_prints_csv(example_policy_path, evalink):
    result = evalink("ropa", example_policy_path, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("processing activity,")
