"""`evalink intruder --node LINKER_DIR --project NAME`: the motivated-intruder test of a
project's research dataset, as `assemble` runs it before sending."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from evalink.cli.app import app, console
from evalink.cli.flow import _require_party
from evalink.cli.node import open_node
from evalink.cli.options import NodeDir, PassphraseFile, ReportFormat


@app.command("intruder")
def intruder(
    node_dir: Path = NodeDir,
    project: str = typer.Option(..., "--project", help="The project whose dataset to attack."),
    to: str = typer.Option("research", "--to", help="The researchers' party (for its k)."),
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table or json."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Linker: attack the project's research dataset as each intruder of the policy
    would, with what it knows, and report the families or persons re-identified (checked
    against the truth), before and after de-identification, what was generalised and
    withheld, and how far simple attached-versus-waiting rate ratios moved. A project
    not yet assembled is tested as `assemble` would release it now. Nothing is sent or
    stored; the reads are audited. Exit code 1 if an enforced intruder is over its bound."""
    from evalink.assemble.research import intruder_test, refusal

    with open_node(node_dir, passphrase_file) as node:
        _require_party(node, ("linker",), "intruder")
        with console.status("attacking the research dataset"):
            assembled, report = intruder_test(node, project, to=to)
    if output is ReportFormat.json:
        typer.echo(json.dumps({"project": project, "assembled": assembled, **report.as_dict()},
                              indent=1))
    else:
        state = "as assembled" if assembled else "not assembled yet: as it would be released now"
        console.print(
            f"project '{project}' ({state}): {report.persons:,} persons in "
            f"{report.families:,} families", highlight=False,
        )
        for before, after in zip(report.before, report.risks, strict=True):
            console.print(f"  exact table: {before.line()}", highlight=False)
            console.print(f"  released:    {after.line()}", highlight=False)
        console.print(f"  k={report.k}: smallest class on {', '.join(report.quasi_identifiers)} "
                      f"is {report.smallest_class}", highlight=False)
        console.print(f"  generalised: {'; '.join(report.steps)}", highlight=False)
        for ratio in report.utility:
            if ratio.exact is None:
                continue
            console.print(
                f"  rate ratio, {ratio.outcome}: exact {ratio.exact:.3f} "
                f"[{ratio.low:.3f}, {ratio.high:.3f}], released {ratio.released:.3f} "
                f"(moved {ratio.moved:.1%} of the interval's width)"
                if ratio.moved is not None and ratio.released is not None
                else f"  rate ratio, {ratio.outcome}: exact {ratio.exact:.3f}, released n/a",
                highlight=False,
            )
    if refusal(report):
        raise typer.Exit(1)
