"""`evalink audit verify` and `evalink audit show`: a node's tamper-evident log."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from evalink.cli.app import app, console, group
from evalink.cli.node import open_node
from evalink.cli.options import NodeDir, PassphraseFile

audit_app = group("Verify and read a node's tamper-evident audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(node_dir: Path = NodeDir, passphrase_file: Path | None = PassphraseFile) -> None:
    """Check the hash chain, checkpoint signatures and sealed anchor; name the first bad entry."""
    from evalink.errors import EvalinkError

    with open_node(node_dir, passphrase_file) as node:
        report = node.verify_audit()
    if not report.ok:
        raise EvalinkError(f"{node_dir}: {report.summary()}")
    console.print(f"{node_dir}: {report.summary()}", highlight=False, markup=False)
    for warning in report.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)


@audit_app.command("show")
def show(
    node_dir: Path = NodeDir,
    action: str | None = typer.Option(None, "--action", help="Only entries of this action."),
    last: int | None = typer.Option(None, "--last", help="Only the last N entries."),
    as_json: bool = typer.Option(False, "--json", help="Print the raw JSON lines."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """List the log's entries: sequence, time, action and details."""
    from evalink.audit import read_entries

    with open_node(node_dir, passphrase_file) as node:
        path = node.audit.path
    lines = []
    for number, raw in read_entries(path):
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:
            entry = {
                "seq": "?",
                "time": "?",
                "action": f"(unreadable line {number})",
                "details": {},
            }
        if action and entry.get("action") != action:
            continue
        lines.append((raw.rstrip("\n"), entry))
    if last is not None:
        lines = lines[-last:]
    for raw, entry in lines:
        if as_json:
            typer.echo(raw)
            continue
        details = entry.get("details") or {}
        if entry.get("action") == "checkpoint":
            text = f"signed, covers entries 1–{details.get('entries')}"
        else:
            text = " ".join(f"{k}={_short(v)}" for k, v in sorted(details.items()) if v is not None)
        console.print(
            f"{entry.get('seq'):>5}  {entry.get('time')}  {entry.get('user', '?')}  "
            f"{entry.get('action'):<18} {text}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _short(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    text = str(value)
    return text[:16] + "…" if len(text) > 40 else text
