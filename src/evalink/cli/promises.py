"""`evalink promises --workdir DIR`: every promise of the policy, kept, BROKEN or not
checked, with the evidence read from the workdir's nodes on the clock's day."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from evalink.cli.app import app, clock, console
from evalink.cli.options import PassphraseFile, ReportFormat
from evalink.cli.passphrase import node_passphrase


@app.command("promises")
def promises(
    workdir: Path = typer.Option(
        ..., "--workdir", help="The flow's directory: one node directory per party."
    ),
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table or json."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Check every promise of the policy against what the nodes hold and logged, on the
    day `evalink --today` sets: kept, BROKEN or not checked in this run, with the
    evidence. Nodes are opened to look only: nothing is destroyed (the reads are
    audited). Exit code 1 if any promise is BROKEN. All nodes of the workdir share one passphrase."""
    from evalink.promises import BROKEN, check_promises, report_line
    from evalink.promises.nodes import node_dirs

    node_dirs(workdir)  # a wrong directory is named before any passphrase is asked for
    today = clock()().date()
    checks = check_promises(workdir, node_passphrase(passphrase_file), today=today)
    if output is ReportFormat.json:
        typer.echo(
            json.dumps({"today": str(today), "promises": [c.as_dict() for c in checks]}, indent=1)
        )
    else:
        console.print(f"promises of the nodes in {workdir} on {today}:", highlight=False)
        for check in checks:
            console.print("  " + report_line(check, markup=True), highlight=False)
    if any(c.state == BROKEN for c in checks):
        raise typer.Exit(1)
