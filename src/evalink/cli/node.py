"""`evalink node ...`, `evalink send`, `evalink receive`, `evalink deliver`: parties as nodes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from evalink.cli.app import Command, UsageError, app, clock, console, err_console, group
from evalink.cli.options import (
    LegacyNodeDir,
    NewPassphraseFile,
    NodeDir,
    NodeDirOption,
    PassphraseFile,
)
from evalink.cli.passphrase import new_passphrase, node_passphrase

if TYPE_CHECKING:
    from evalink.node import Node

node_app = group("Create a party's node and exchange public keys with other nodes.")
app.add_typer(node_app, name="node")

__all__ = ["NodeDir", "PassphraseFile", "node_dir", "open_node"]


def open_node(
    directory: Path, passphrase_file: Path | None = None, *, retention: bool = True
) -> Node:
    """Open a node for a command. What is due for destruction goes first (retention
    runs at the start of every session) unless `retention` is False, for the commands
    that only look at what is due."""
    from evalink.node import Node, node_party  # lazy: keeps `evalink --help` fast

    node_party(directory)  # a clear error for a wrong directory, before any prompt
    return Node.open(
        directory, node_passphrase(passphrase_file), clock=clock(), retention=retention
    )


def node_dir(option: Path | None, positional: Path | None) -> Path:
    """The node of a `node ...` command: `--node DIR`, or the positional DIR old scripts give."""
    if option is None and positional is None:
        raise UsageError("Missing option '--node'.")
    if option is not None and positional is not None and option.resolve() != positional.resolve():
        raise UsageError(
            f"two different nodes given, --node {option} and {positional}; give only --node DIR"
        )
    directory = option if option is not None else positional
    assert directory is not None
    return directory


@node_app.command("init", cls=Command)
def init(
    node_option: Path | None = NodeDirOption,
    party: str = typer.Option(..., "--party", help="The policy's id of the party this node runs."),
    policy_file: Path = typer.Option(..., "--policy", help="The policy YAML file."),
    passphrase_file: Path | None = PassphraseFile,
    legacy_dir: Path | None = LegacyNodeDir,
) -> None:
    """Create a node: encrypted store, identifier vault if the party holds identifiers,
    key ring under a passphrase of at least 12 characters, inbox, outbox and audit log.

    The passphrase comes from --passphrase-file, EVALINK_PASSPHRASE or
    EVALINK_PASSPHRASE_FILE; on a terminal, without them, it is asked for twice."""
    from evalink.node import init_node

    directory = node_dir(node_option, legacy_dir)
    info = init_node(
        directory,
        party=party,
        policy_path=policy_file,
        passphrase=node_passphrase(passphrase_file, confirm=True),
        clock=clock(),
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


@node_app.command("export-public", cls=Command)
def export_public(
    node_option: Path | None = NodeDirOption,
    out: Path = typer.Option(..., "--out", help="Where to write the public key file."),
    passphrase_file: Path | None = PassphraseFile,
    legacy_dir: Path | None = LegacyNodeDir,
) -> None:
    """Write this node's public encryption and signing keys, signed, for other nodes to trust."""
    with open_node(node_dir(node_option, legacy_dir), passphrase_file) as node:
        fingerprint = node.export_public(out)
    console.print(f"wrote {out}; fingerprint {fingerprint}", highlight=False, markup=False)


@node_app.command("trust", cls=Command)
def trust(
    key_file: Path = typer.Argument(
        ..., metavar="KEY_FILE", help="Another node's public key file.", show_default=False
    ),
    node_option: Path | None = NodeDirOption,
    replace: bool = typer.Option(False, "--replace", help="Replace the party's trusted keys."),
    passphrase_file: Path | None = PassphraseFile,
    legacy_key_file: Path | None = typer.Argument(None, hidden=True, show_default=False),
) -> None:
    """Trust another party's public keys. Compare the fingerprint printed with the one the
    other party reads out to you."""
    if legacy_key_file is not None:  # the old form, `node trust DIR KEY_FILE`
        directory, key_file = node_dir(node_option, key_file), legacy_key_file
    else:
        directory = node_dir(node_option, None)
    with open_node(directory, passphrase_file) as node:
        keys = node.trust(key_file, replace=replace)
    console.print(
        f"trusted '{keys.party}' with fingerprint {keys.fingerprint}", highlight=False, markup=False
    )


@node_app.command("passphrase", cls=Command)
def change_passphrase(
    node_option: Path | None = NodeDirOption,
    passphrase_file: Path | None = PassphraseFile,
    new_passphrase_file: Path | None = NewPassphraseFile,
    legacy_dir: Path | None = LegacyNodeDir,
) -> None:
    """Change the node's passphrase (the current one as for any command; the new one from
    --new-passphrase-file, EVALINK_NEW_PASSPHRASE, EVALINK_NEW_PASSPHRASE_FILE or a prompt
    on a terminal). No data is re-encrypted."""
    from evalink.node import Node, node_party

    directory = node_dir(node_option, legacy_dir)
    node_party(directory)
    # Both passphrases before the node is opened: a missing new one must not leave an
    # opened-and-closed node (and its audit entries) behind for nothing.
    current = node_passphrase(passphrase_file)
    new = new_passphrase(new_passphrase_file)
    with Node.open(directory, current, clock=clock()) as node:
        node.change_passphrase(new)
    console.print(f"passphrase changed for node {directory}", highlight=False, markup=False)


@node_app.command("datasets", cls=Command)
def datasets(
    node_option: Path | None = NodeDirOption,
    passphrase_file: Path | None = PassphraseFile,
    legacy_dir: Path | None = LegacyNodeDir,
) -> None:
    """List what the node holds: dataset, where, parts, rows and destroy-by date."""
    with open_node(node_dir(node_option, legacy_dir), passphrase_file) as node:
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
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Check the policy, seal FILE for the recipient and write it to the node's outbox."""
    with open_node(node_dir, passphrase_file) as node:
        path = node.send(to, dataset, file)
    console.print(str(path), highlight=False, markup=False)


@app.command("receive")
def receive(
    node_dir: Path = NodeDir,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Open and import every package in the node's inbox; each all rows or none. Each
    package refused is named with the reason, and the command then exits with code 2."""
    from evalink.errors import EvalinkError

    with open_node(node_dir, passphrase_file) as node:
        results = node.receive()
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
    refused = [r for r in results if not r.ok]
    for result in refused:
        # Refusal messages name the package, fields and rules, never the data.
        reason = result.message.removeprefix(f"{result.package}: ")
        err_console.print(f"refused {result.package}: {reason}", highlight=False, markup=False)
    if refused:
        raise EvalinkError(
            f"{len(refused)} package(s) refused; set aside in {node_dir / 'inbox' / 'refused'} "
            f"(`evalink audit show --node {node_dir} --action refused`)"
        )


@app.command("deliver")
def deliver(
    source: Path = typer.Option(..., "--from", help="Sending node's directory."),
    target: Path = typer.Option(..., "--to", help="Receiving node's directory."),
) -> None:
    """Copy packages from one node's outbox into another's inbox (the transport)."""
    from evalink.node import deliver as deliver_packages
    from evalink.node import unfinished_transactions

    delivered = deliver_packages(source, target)
    for path in delivered:
        console.print(str(path), highlight=False, markup=False)
    if not delivered:
        console.print("nothing to deliver", highlight=False)
    if unfinished_transactions(source):
        err_console.print(
            f"note: {source} has a command that was interrupted; open the node (e.g. "
            f"`evalink node datasets --node {source}`) to finish or drop it, then deliver again",
            highlight=False,
            markup=False,
        )
