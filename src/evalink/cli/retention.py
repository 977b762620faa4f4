"""`evalink retention status`: what a node holds and when each part must be destroyed."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from evalink.cli.app import app, console, group
from evalink.cli.node import open_node
from evalink.cli.options import NodeDir, PassphraseFile, ReportFormat

retention_app = group("What each node holds and when the policy says it must be destroyed.")
app.add_typer(retention_app, name="retention")


@retention_app.command("status")
def status(
    node_dir: Path = NodeDir,
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table or json."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Every part held: dataset, rows, rule, promise, destroy-by date, days left or overdue
    (on the day `evalink --today` sets). Reports only; it destroys nothing."""
    from rich.table import Table

    from evalink.retention import status as retention_status

    with open_node(node_dir, passphrase_file) as node:
        holdings = retention_status(node)
        today = node.today()
    if output is ReportFormat.json:
        rows = [{**asdict(h), "state": h.state} for h in holdings]
        typer.echo(json.dumps({"today": str(today), "parts": rows}, default=str, indent=1))
        return
    table = Table(title=f"held at {node_dir} on {today}")
    for column in ("dataset", "rows", "rule", "promises", "destroy by", "state"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for h in holdings:
        table.add_row(h.dataset, f"{h.rows:,}", h.rule or "-", ", ".join(h.promises) or "-",
                      str(h.destroy_by or "-"), h.state)
    console.print(table)
