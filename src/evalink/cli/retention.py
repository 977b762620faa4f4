"""`evalink retention`: what a node holds, destroying what is due, and the certificates."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from evalink.cli.app import app, console, group
from evalink.cli.node import open_node
from evalink.cli.options import NodeDir, PassphraseFile, ReportFormat

retention_app = group(
    "What each node holds, when the policy says it must be destroyed, and the proof it was."
)
app.add_typer(retention_app, name="retention")


@retention_app.command("status")
def status(
    node_dir: Path = NodeDir,
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table or json."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Every part held: dataset, rows, rule, promise, destroy-by date, days left or overdue
    (on the day `evalink --today` sets). Reports only; it destroys nothing — not even
    what is overdue, which the next other command on the node destroys first."""
    from rich.table import Table

    from evalink.retention import status as retention_status

    with open_node(node_dir, passphrase_file, retention=False) as node:
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


@retention_app.command("run")
def run(
    node_dir: Path = NodeDir,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what is due; destroy nothing."),
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table or json."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Destroy everything due by today: each part's data key (crypto-shredding), its
    files, the package copies that hold it; re-wrap the remaining keys; one signed
    certificate per part. Every other command that opens a node does this first too."""
    from rich.table import Table

    from evalink.retention import run as retention_run
    from evalink.retention.run import summary

    # Opened without the automatic run, so this command's own run is the one reported.
    with open_node(node_dir, passphrase_file, retention=False) as node:
        result = retention_run(node, dry_run=dry_run)
    if output is ReportFormat.json:
        typer.echo(json.dumps(summary(result), default=str, indent=1))
        return
    verb = "due (dry run: nothing destroyed)" if dry_run else "destroyed"
    if not result.due and not result.package_copies:
        console.print(f"nothing due at {node_dir} on {result.today}", highlight=False)
        return
    table = Table(title=f"{verb} at {node_dir} on {result.today}")
    for column in ("dataset", "part", "rows", "rows kept", "destroy by", "rule"):
        table.add_column(column, justify="right" if "rows" in column else "left")
    for d in result.due:
        table.add_row(d.dataset, d.part, f"{d.rows - d.rows_kept:,}", f"{d.rows_kept:,}",
                      str(d.destroy_by), d.rule or "-")
    console.print(table)
    console.print(
        f"{len(result.certificates)} certificates issued; {len(result.package_copies)} "
        f"package copies {'due' if dry_run else 'deleted'}",
        highlight=False,
    )


@retention_app.command("certificates")
def certificates(
    node_dir: Path = NodeDir,
    out: Path = typer.Option(..., "--out", help="The JSON file to write."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Export every destruction certificate the node issued, after verifying each
    signature and that each destroyed part's key and files are gone."""
    from evalink.retention import export_certificates

    with open_node(node_dir, passphrase_file) as node:
        issued = export_certificates(node, out)
    console.print(f"wrote {len(issued)} verified certificates to {out}", highlight=False)


@retention_app.command("verify")
def verify(
    certificates_file: Path = typer.Argument(..., help="A file `retention certificates` wrote."),
    key: Path | None = typer.Option(
        None, "--key",
        help="The node's public key file (`evalink node export-public`): proves who issued "
        "them. Without it, only that the file is unaltered against the key it carries.",
    ),
) -> None:
    """Check an exported certificate file: every certificate's id and signature."""
    from evalink.node.trust import parse_public_key_document
    from evalink.retention import verify_certificate_file

    public = None
    issuer = "the key in the file"
    if key is not None:
        try:
            text = key.read_text(encoding="utf-8")
        except OSError as error:
            from evalink.errors import InputError

            raise InputError(f"{key}: cannot read ({type(error).__name__})") from None
        keys, _ = parse_public_key_document(text, str(key))
        public = keys.signing_key()
        issuer = f"{keys.party}'s key {keys.fingerprint}"
    count = verify_certificate_file(certificates_file, public)
    console.print(f"{count} certificates verify against {issuer}", highlight=False)
