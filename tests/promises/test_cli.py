"""`evalink promises --workdir DIR`: the report a data protection officer reads, its
exit code, and one line for a workdir it cannot check."""

from __future__ import annotations

import json
from datetime import timedelta

from evalink.policy import load_policy
from tests.conftest import EXAMPLE_POLICY


def test_the_report_lists_every_promise_and_exits_0_when_none_is_broken(held, evalink):
    result = evalink("--today", held.day, "promises", "--workdir", held.workdir, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["today"] == str(held.day)
    promises = [p.id for p in load_policy(EXAMPLE_POLICY).document.promises]
    assert [p["promise"] for p in report["promises"]] == promises
    states = {p["promise"]: p["state"] for p in report["promises"]}
    assert states["only-agreed-transfers"] == "kept"
    assert states["departments-forget-within-a-month"] == "not checked in this run"


def test_a_broken_promise_is_shown_and_the_exit_code_is_1(held, evalink):
    # The day after the departments' month, with no department opened since.
    day = held.received_on + timedelta(days=31)
    result = evalink("--today", day, "promises", "--workdir", held.workdir)
    assert result.exit_code == 1, result.output
    assert "departments-forget-within-a-month" in result.output and "BROKEN" in result.output


def test_a_workdir_that_does_not_exist_is_one_line_and_exit_2(tmp_path, evalink, cheap_nodes):
    result = evalink("promises", "--workdir", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "no such workdir" in result.output


def test_a_workdir_without_nodes_is_one_line_and_exit_2(tmp_path, evalink, cheap_nodes):
    (tmp_path / "not-a-node").mkdir()
    result = evalink("promises", "--workdir", tmp_path)
    assert result.exit_code == 2
    assert "holds no node" in result.output
