"""`evalink evaluate`: what the programme changed, at the research node.

    evalink evaluate --node RESEARCH_DIR --plan PLAN --out DIR

Reads only the research node's dataset (purpose `evaluation`, audited), registers the
plan the first time a project is evaluated and refuses a changed plan under an unchanged
version, then writes effects.csv, balance.csv, linkage_sensitivity.csv, costs.csv,
rates.csv, plan.yaml and report.html into DIR, the researcher's workspace."""

from __future__ import annotations

from pathlib import Path

import typer

from evalink.cli.app import app, console, spinner
from evalink.cli.options import PassphraseFile


@app.command("evaluate")
def evaluate(
    node_dir: Path = typer.Option(..., "--node", metavar="RESEARCH_DIR", help="The research node holding the dataset."),
    plan_file: Path = typer.Option(..., "--plan", metavar="PLAN", help="The analysis plan (YAML), e.g. examples/evaluation-plan.yaml."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="The researcher's workspace for the tables and the report."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Estimate each outcome's effect in each window of the plan: families worked with
    against eligible families waiting, weighted by propensity scores per outcome, with
    balance, a staggered-entry estimator beside it, linkage sensitivity, and costs and
    benefits per £1."""
    from evalink.cli.node import open_node
    from evalink.evaluate import evaluate as run
    from evalink.evaluate import load_plan, write_outputs

    registered = load_plan(plan_file)
    with open_node(node_dir, passphrase_file) as node, spinner("reading the research dataset") as phase:
        result = run(node, registered, progress=phase)
        phase("writing the tables and the report")
        files = write_outputs(result, out)
    _print(result, files)


def _print(result, files: dict[str, Path]) -> None:
    from evalink.evaluate.summary import benefit_lines, effect_table

    plan = result.plan.plan
    state = "registered now" if result.newly_registered else "as registered"
    console.print(
        f"project '{result.project}': plan version {plan.version} ({state}; SHA-256 {result.plan.sha256[:12]}…, "
        f"{len(result.registrations)} version(s) registered)"
    )
    console.print(f"{result.persons:,} persons in {result.families:,} families")
    console.print(effect_table(result))
    for line in benefit_lines(result):
        console.print(line, highlight=False)
    console.print("wrote " + ", ".join(str(p) for p in files.values()))
