"""The README's evaluation block, run exactly as written after its whole flow (see
tests/flow/readme.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evalink.evaluate import load_plan
from evalink.examples import example
from tests.flow.conftest import ReadmeRun, _after_the_flow

EVALUATE_HEADING = "## Evaluating: what the programme changed"


@pytest.fixture(scope="module")
def evaluate_run(readme_run: ReadmeRun, tmp_path_factory: pytest.TempPathFactory) -> ReadmeRun:
    return _after_the_flow(readme_run, tmp_path_factory.mktemp("evaluate"), EVALUATE_HEADING)


def test_the_readmes_evaluation_writes_its_tables_under_the_datasets_project(evaluate_run: ReadmeRun):
    workspace = evaluate_run.work / "workspace"
    effects = pd.read_csv(workspace / "effects.csv")
    assert set(effects["outcome"]) == set(load_plan(example("evaluation-plan.yaml")).plan.outcomes)
    log = (evaluate_run.snapshots[-1] / "research" / "audit" / "log.jsonl").read_text(encoding="utf-8")
    (registered,) = [e for e in map(json.loads, log.splitlines())
                     if e["action"] == "evaluation-plan-registered"]
    # The example plan names no project: it is registered under the dataset's.
    assert registered["details"]["project"] == "evaluation-2019"
    assert registered["details"]["sha256"] == load_plan(example("evaluation-plan.yaml")).sha256
    assert "evaluation-2019" in evaluate_run.outputs[-1]
