"""`evalink demo` runs the programme on its own timeline, prints the day of each stage
and ends with every promise of the policy checked (see conftest.py: the run all the
promise tests copy their nodes from)."""

from __future__ import annotations

from datetime import date

from evalink.demo import AS_OF, DEMO_AUTHOR, DEMO_REVIEWERS, DEPARTMENTS
from evalink.policy import load_policy
from evalink.promises import STATES
from tests.conftest import EXAMPLE_POLICY


def test_each_stage_happens_on_its_day_of_the_programme(demo):
    days = {stage.step: stage.on for stage in demo.run.stages}
    assert days["identify"] == AS_OF == date(2015, 3, 31)
    # Shared two months after the outcome window (to 2020-03-31) closed.
    assert days["share"] == days["dispatch"] == date(2020, 6, 1)
    assert all(days[f"{d}-matches"] == date(2020, 6, 5) for d in DEPARTMENTS)
    assert days["assemble"] == date(2020, 6, 12)
    # A month after the departments received on 2020-06-02, on the rule's own dates.
    assert all(date(2020, 7, 2) <= days[f"{d}-destroys"] <= date(2020, 7, 5) for d in DEPARTMENTS)
    assert days["linker-destroys"] == days["research-destroys"] == date(2022, 12, 31)
    assert days["checks-at-the-end"] >= days["council-destroys"]
    ordered = [stage.on for stage in demo.run.stages]
    assert ordered == sorted(ordered)


def test_the_demo_prints_the_day_of_each_stage(demo):
    for stage in demo.run.stages:
        assert f"{stage.on}  {stage.name}" in demo.printed


def test_the_demo_ends_with_every_promise_of_the_policy_and_its_state(demo):
    promises = [p.id for p in load_policy(EXAMPLE_POLICY).document.promises]
    assert [c.promise for c in demo.run.checks] == promises
    assert {c.state for c in demo.run.checks} <= set(STATES)
    for check in demo.run.checks:
        assert f"{check.state} {check.promise}: " in demo.printed
    assert demo.run.ok == all(c.state != "BROKEN" for c in demo.run.checks)


def test_a_promise_checked_on_two_days_shows_the_evidence_of_both(demo):
    (transfers,) = [c for c in demo.run.checks if c.promise == "only-agreed-transfers"]
    held, end = demo.run.checkpoints
    assert f"on {held}: " in transfers.evidence and f"on {end}: " in transfers.evidence


def test_a_demo_asked_to_stop_before_research_receives_is_one_line_and_exit_2(
    tmp_path, evalink, cheap_nodes
):
    result = evalink("demo", "--workdir", tmp_path, "--until", "2019-01-01")
    assert result.exit_code == 2
    assert result.output.startswith("error: --until: 2019-01-01 is before research receives")
    assert not (tmp_path / "council").exists()


def test_research_publishes_through_the_airlock_and_the_demo_says_what_was_suppressed(demo):
    days = {stage.step: stage.on for stage in demo.run.stages}
    # Two weeks after research received its dataset; the public node has it the next day.
    assert days["release"] == date(2020, 6, 28)
    release = demo.run.release
    assert release is not None and "report.html" in release.files
    for reviewer in DEMO_REVIEWERS:
        assert reviewer in demo.printed
    assert f"neither the author, {DEMO_AUTHOR}" in demo.printed
    for table in release.tables:
        cells = table.suppressed()
        assert f"{table.file.name}: {len(cells)} suppressed" in demo.printed or not cells
        # Each suppressed cell is named by its labels and the rules it failed.
        assert all(cell.endswith(")") for cell in cells)


def test_after_the_demo_the_public_node_holds_only_what_the_airlock_released(demo):
    (published,) = [c for c in demo.run.checks if c.promise == "no-one-identifiable-in-published-reports"]
    # Checked on both days: each published file's signatures and bytes, each table
    # scanned again with the policy's rules (evalink.promises.published).
    assert published.state == "kept", published.evidence
    assert published.evidence.count("came through the airlock") == 2


def test_research_evaluates_under_the_example_plan_and_the_demo_prints_the_1_to_24_month_effects(
    demo,
):
    days = {stage.step: stage.on for stage in demo.run.stages}
    # A week after research received its dataset, before it tabulates for release.
    assert days["assemble"] < days["evaluate"] == date(2020, 6, 20) < days["release"]
    evaluation = demo.run.evaluation
    assert evaluation is not None and evaluation.newly_registered
    workdir = demo.run.programme.workdir
    for name in ("effects.csv", "balance.csv", "linkage_sensitivity.csv", "costs.csv",
                 "report.html"):
        assert (workdir / "evaluation" / name).is_file()
    assert "effects, months 1-24 after the index date" in demo.printed
    shown = {row.outcome for row in evaluation.effects if row.window.label() == "1-24"}
    assert shown and all(outcome in demo.printed for outcome in shown)


def test_demo_passes_planted_effects_to_the_world(tmp_path, evalink, cheap_nodes, monkeypatch):
    from evalink import demo as demo_module

    seen = {}

    def run_demo(*args, **options):
        seen.update(options)
        raise SystemExit(0)

    monkeypatch.setattr(demo_module, "run_demo", run_demo)
    effects = tmp_path / "effects.json"
    effects.write_text('{"jsa_claim": 0.75}')
    evalink("demo", "--workdir", tmp_path / "w", "--effect", "child_looked_after=0.5",
            "--effects", effects)
    assert seen["effects"] == {"child_looked_after": 0.5}
    assert seen["effects_file"] == effects


def test_a_programme_plants_the_effects_it_was_given(tmp_path):
    import json

    from evalink.demo import Programme

    programme = Programme(EXAMPLE_POLICY, tmp_path, "synthetic test passphrase", seed=3,
                          effects={"child_looked_after": 0.5})
    programme.synth(families=40, population=500)
    planted = json.loads((tmp_path / "world" / "truth" / "effects.json").read_text())
    assert planted["effects"]["child_looked_after"]["windows"][0]["ratio"] == 0.5


def test_a_demo_with_an_unknown_effect_is_one_line_and_exit_2_before_any_node(
    tmp_path, evalink, cheap_nodes
):
    result = evalink("demo", "--workdir", tmp_path, "--effect", "happiness=2")
    assert result.exit_code == 2
    assert result.output.startswith("error: unknown effect 'happiness'")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "council").exists()
