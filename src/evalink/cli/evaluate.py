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
    from rich.table import Table

    plan = result.plan.plan
    state = "registered now" if result.newly_registered else "as registered"
    console.print(
        f"project '{result.project}': plan version {plan.version} ({state}; SHA-256 {result.plan.sha256[:12]}…, "
        f"{len(result.registrations)} version(s) registered)"
    )
    console.print(f"{result.persons:,} persons in {result.families:,} families")
    # One line per outcome and window: the primary estimate, and beside it the crude
    # comparison and the staggered-entry estimator (the tables hold every detail).
    by_method: dict[tuple[str, str, str], object] = {
        (row.outcome, row.window.label(), row.method): row for row in result.effects
    }
    table = Table("outcome", "months", "weighted ratio [95% CI]", "unadjusted", "staggered",
                  "programme", "comparison", "balance")
    for row in result.effects:
        if row.method != "propensity_weighting":
            continue
        key = (row.outcome, row.window.label())
        crude = by_method.get((*key, "unadjusted"))
        staggered = by_method.get((*key, "callaway_santanna"))
        table.add_row(
            row.outcome, row.window.label(), _ratio(row, interval=True),
            _ratio(crude), _ratio(staggered),
            _pct(row.programme_rate), _pct(row.comparison_rate),
            "ok" if row.balance_ok else "[red]SMD > bound[/red]",
        )
    console.print(table)
    for cost in result.costs:
        if cost.outcome == "all outcomes" and cost.fiscal_per_pound is not None:
            console.print(
                f"fiscal benefit per £1, months {cost.window.label()}: {cost.fiscal_per_pound:.2f} "
                f"[{_num(cost.fiscal_per_pound_low)}, {_num(cost.fiscal_per_pound_high)}]"
            )
    console.print("wrote " + ", ".join(str(p) for p in files.values()))


def _ratio(row, *, interval: bool = False) -> str:
    if row is None or row.estimate is None:
        return "—"
    if not interval:
        return f"{row.estimate:.2f}"
    return f"{row.estimate:.2f} [{_num(row.ci_low)}, {_num(row.ci_high)}]"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"
