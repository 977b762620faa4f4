"""`evalink evaluate` at the research node of a whole flow: the command contract, the
registration of the plan, and what is refused. The world is not copied: the evaluation
reads the research node and nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalink.examples import example
from tests.flow.conftest import node_state

EFFECT_COLUMNS = [
    "outcome", "window_from_month", "window_to_month", "measure", "estimate", "ci_low",
    "ci_high", "programme_rate", "comparison_rate", "difference", "n_programme",
    "n_comparison", "families_programme", "families_comparison", "method", "balance_ok",
]
OUTPUTS = ("effects.csv", "balance.csv", "linkage_sensitivity.csv", "costs.csv", "report.html")


@pytest.fixture
def research(flow: Path, tmp_path: Path) -> Path:
    """A copy of the flow's research node alone: no world, no other node beside it."""
    copy = tmp_path / "research"
    shutil.copytree(flow / "research", copy)
    return copy


def plan_for(tmp_path: Path, name: str = "plan.yaml", **replace: str) -> Path:
    text = example("evaluation-plan.yaml").read_text(encoding="utf-8")
    # Pinned to the project of the flow's dataset (the demo names it after its seed, 5).
    text = text.replace("version: 1", "project: demo-5\nversion: 1", 1)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def audit_entries(node: Path, action: str) -> list[dict]:
    lines = (node / "audit" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e.get("action") == action]


def test_evaluate_writes_the_contracts_tables_from_the_research_node_alone(research, tmp_path, env, evalink):
    out = tmp_path / "workspace"
    result = evalink("evaluate", "--node", research, "--plan", plan_for(tmp_path), "--out", out)
    assert result.exit_code == 0, result.output
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    effects = pd.read_csv(out / "effects.csv")
    assert list(effects.columns[: len(EFFECT_COLUMNS)]) == EFFECT_COLUMNS
    assert set(effects["method"]) >= {"propensity_weighting", "callaway_santanna"}
    assert set(effects["measure"]) == {"rate_ratio", "ratio_of_means"}
    assert {(a, b) for a, b in zip(effects["window_from_month"], effects["window_to_month"], strict=True)} >= {
        (7, 12), (13, 18), (19, 24), (1, 24)}
    # Every row says how many it was computed from, for the release step's checks.
    counts = effects[["n_programme", "n_comparison", "families_programme", "families_comparison"]]
    assert counts.notna().all().all() and (counts >= 0).all().all()
    primary = effects[effects["method"] == "propensity_weighting"]
    assert (primary["n_programme"] > 0).all() and (primary["families_programme"] > 0).all()
    reads = audit_entries(research, "read")
    assert any(e["details"].get("purpose") == "evaluation" and e["details"]["dataset"] == "research_dataset"
               for e in reads)


def test_the_first_evaluate_registers_the_plans_hash_and_a_second_finds_it_registered(research, tmp_path, env, evalink):
    from evalink.evaluate import load_plan

    plan = plan_for(tmp_path)
    first = evalink("evaluate", "--node", research, "--plan", plan, "--out", tmp_path / "one")
    second = evalink("evaluate", "--node", research, "--plan", plan, "--out", tmp_path / "two")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "registered now" in first.output and "as registered" in second.output
    (registration,) = audit_entries(research, "evaluation-plan-registered")
    details = registration["details"]
    assert (details["project"], details["version"], details["sha256"]) == (
        "demo-5", 1, load_plan(plan).sha256)


def test_a_changed_plan_under_the_same_version_is_refused_and_changes_nothing(research, tmp_path, env, evalink):
    assert evalink("evaluate", "--node", research, "--plan", plan_for(tmp_path),
                   "--out", tmp_path / "one").exit_code == 0
    before = node_state(research)
    changed = plan_for(tmp_path, "changed.yaml", **{"  - [7, 12]\n": "  - [7, 9]\n"})
    result = evalink("evaluate", "--node", research, "--plan", changed, "--out", tmp_path / "two")
    assert result.exit_code == 2
    assert f"{changed}: version: version 1 of project 'demo-5' was registered" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert node_state(research) == before
    assert not (tmp_path / "two").exists()


def test_a_new_version_is_registered_beside_the_first_and_both_are_in_the_report(research, tmp_path, env, evalink):
    assert evalink("evaluate", "--node", research, "--plan", plan_for(tmp_path),
                   "--out", tmp_path / "one").exit_code == 0
    second = plan_for(tmp_path, "v2.yaml", **{"version: 1\n": "version: 2\n", "  - [7, 12]\n": "  - [7, 9]\n"})
    result = evalink("evaluate", "--node", research, "--plan", second, "--out", tmp_path / "two")
    assert result.exit_code == 0, result.output
    registrations = audit_entries(research, "evaluation-plan-registered")
    assert [r["details"]["version"] for r in registrations] == [1, 2]
    report = (tmp_path / "two" / "report.html").read_text(encoding="utf-8")
    for registration in registrations:
        assert registration["details"]["sha256"] in report
    older = plan_for(tmp_path, "v1-again.yaml", **{"  - [7, 12]\n": "  - [7, 10]\n"})
    refused = evalink("evaluate", "--node", research, "--plan", older, "--out", tmp_path / "three")
    assert refused.exit_code == 2


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"where: {outcome: [LAC]}": "where: {episode_kind: [LAC]}"},
         "outcomes.child_looked_after.events.where.episode_kind"),
        ({"  - [7, 12]\n": "  - [12, 7]\n"}, "windows[0]"),
        ({"method: propensity_weighting": "method: regression_discontinuity"}, "estimators.primary.method"),
        ({"method: callaway_santanna": "method: synthetic_control"}, "estimators.staggered.method"),
        ({"project: demo-5": "project: another"}, "project"),
    ],
)
def test_a_bad_plan_is_one_line_naming_the_plan_and_its_key_and_writes_nothing(
        research, tmp_path, env, evalink, change, key):
    plan = plan_for(tmp_path, **change)
    before = node_state(research)
    result = evalink("evaluate", "--node", research, "--plan", plan, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert str(plan) in line and key in line
    assert "Traceback" not in result.output
    assert node_state(research) == before
    assert not audit_entries(research, "evaluation-plan-registered")
    assert not (tmp_path / "out").exists()
