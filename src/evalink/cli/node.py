"""`evalink node ...`, `evalink send`, `evalink receive`, `evalink deliver`: parties as nodes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from evalink.cli.app import app, console, group

if TYPE_CHECKING:
    from evalink.node import Node

node_app = group("Create a party's node and exchange public keys with other nodes.")
app.add_typer(node_app, name="node")

NodeDir = typer.Option(..., "--node", help="The node's directory.", show_default=False)


def passphrase(*, confirm: bool = False) -> str:
    """EVALINK_PASSPHRASE, or a hidden prompt. Never an argument: arguments end up in shell
    history and process listings."""
    value = os.environ.get("EVALINK_PASSPHRASE")
    if value:
        return value
    return str(typer.prompt("Node passphrase", hide_input=True, confirmation_prompt=confirm))


def open_node(directory: Path) -> Node:
    from evalink.node import Node, node_party  # lazy: keeps `evalink --help` fast

    node_party(directory)  # a clear error for a wrong directory, before any prompt
    return Node.open(directory, passphrase())


@node_app.command("init")
def init(
    directory: Path = typer.Argument(..., help="Directory to create the node in."),
    party: str = typer.Option(..., "--party", help="The policy's id of the party this node runs."),
    policy_file: Path = typer.Option(..., "--policy", help="The policy YAML file."),
) -> None:
    """Create a node: encrypted store, identifier vault if the party holds identifiers,
    key ring under a passphrase, inbox, outbox and audit log."""
    from evalink.node import init_node

    info = init_node(
        directory, party=party, policy_path=policy_file, passphrase=passphrase(confirm=True)
    )
    vault = "with an identifier vault" if info["vault"] else "no identifier vault"
    from evalink.node.keyring import DEFAULT_SCRYPT_LOG2N, scrypt_log2n

    if scrypt_log2n() < DEFAULT_SCRYPT_LOG2N:
        console.print(
            f"warning: weak passphrase hashing (EVALINK_SCRYPT_LOG2N={scrypt_log2n()}); "
            "fine for tests, not for real data",
            highlight=False,
            markup=False,
        )
    console.print(
        f"created node '{party}' at {directory} ({vault}); key fingerprint {info['fingerprint']}",
        highlight=False,
        markup=False,
    )


@node_app.command("export-public")
def export_public(
    directory: Path = typer.Argument(..., help="The node's directory."),
    out: Path = typer.Option(..., "--out", help="Where to write the public key file."),
) -> None:
    """Write this node's public encryption and signing keys, signed, for other nodes to trust."""
    with open_node(directory) as node:
        fingerprint = node.export_public(out)
    console.print(f"wrote {out}; fingerprint {fingerprint}", highlight=False, markup=False)


@node_app.command("trust")
def trust(
    directory: Path = typer.Argument(..., help="The node's directory."),
    key_file: Path = typer.Argument(..., help="Another node's public key file."),
    replace: bool = typer.Option(False, "--replace", help="Replace the party's trusted keys."),
) -> None:
    """Trust another party's public keys. Compare the fingerprint printed with the one the
    other party reads out to you."""
    with open_node(directory) as node:
        keys = node.trust(key_file, replace=replace)
    console.print(
        f"trusted '{keys.party}' with fingerprint {keys.fingerprint}", highlight=False, markup=False
    )


@node_app.command("passphrase")
def change_passphrase(directory: Path = typer.Argument(..., help="The node's directory.")) -> None:
    """Change the node's passphrase (current one from EVALINK_PASSPHRASE or a prompt; the
    new one from EVALINK_NEW_PASSPHRASE or a prompt). No data is re-encrypted."""
    with open_node(directory) as node:
        new = os.environ.get("EVALINK_NEW_PASSPHRASE") or str(
            typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
        )
        node.change_passphrase(new)
    console.print(f"passphrase changed for node {directory}", highlight=False, markup=False)


@node_app.command("datasets")
def datasets(directory: Path = typer.Argument(..., help="The node's directory.")) -> None:
    """List what the node holds: dataset, where, parts, rows and destroy-by date."""
    with open_node(directory) as node:
        held = node.datasets()
    if not held:
        console.print("no datasets held", highlight=False)
    for name, parts in sorted(held.items()):
        dates = [p.destroy_by for p in parts if p.destroy_by]
        console.print(
            f"{name}: {sum(p.rows for p in parts)} rows in {len(parts)} part(s), "
            f"{parts[0].location}, destroy by {min(dates) if dates else '(no rule)'}",
            highlight=False,
            markup=False,
        )


@app.command("send")
def send(
    file: Path = typer.Argument(..., help="Parquet or CSV file to send."),
    node_dir: Path = NodeDir,
    to: str = typer.Option(..., "--to", help="Recipient party id."),
    dataset: str = typer.Option(..., "--dataset", help="Dataset id in the policy."),
) -> None:
    """Check the policy, seal FILE for the recipient and write it to the node's outbox."""
    with open_node(node_dir) as node:
        path = node.send(to, dataset, file)
    console.print(str(path), highlight=False, markup=False)


@app.command("receive")
def receive(node_dir: Path = NodeDir) -> None:
    """Open and import every package in the node's inbox; each all rows or none."""
    from evalink.errors import EvalinkError

    with open_node(node_dir) as node:
        results = node.receive()
    refused = [r for r in results if not r.ok]
    for result in results:
        if result.ok:
            console.print(
                f"imported {result.package}: {result.rows} rows of '{result.dataset}' from "
                f"'{result.sender}'",
                highlight=False,
                markup=False,
            )
    if not results:
        console.print("inbox is empty", highlight=False)
    if refused:
        first = refused[0].message
        more = f" ({len(refused)} packages refused)" if len(refused) > 1 else ""
        raise EvalinkError(f"{first}{more}")


@app.command("deliver")
def deliver(
    source: Path = typer.Option(..., "--from", help="Sending node's directory."),
    target: Path = typer.Option(..., "--to", help="Receiving node's directory."),
) -> None:
    """Copy packages from one node's outbox into another's inbox (the transport)."""
    from evalink.node import deliver as deliver_packages

    delivered = deliver_packages(source, target)
    for path in delivered:
        console.print(str(path), highlight=False, markup=False)
    if not delivered:
        console.print("nothing to deliver", highlight=False)
