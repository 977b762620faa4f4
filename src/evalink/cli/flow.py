"""The flow between parties: `flow init` (the nodes of a flow on one machine), `share`
(council), `dispatch` (linker), `match` (department), `assemble` (linker) and `export`
(any party reading its own data out)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from evalink.cli.app import app, clock, console, group
from evalink.cli.node import open_node
from evalink.cli.options import Engine, NodeDir, PassphraseFile, party_list
from evalink.cli.passphrase import node_passphrase
from evalink.errors import InputError
from evalink.examples import example

if TYPE_CHECKING:
    from evalink.node import Node


def _require_party(node: Node, allowed: tuple[str, ...], command: str) -> None:
    if node.party not in allowed and not (
        "department" in allowed and node.policy.party(node.party).department
    ):
        raise InputError(f"{node.dir}: `{command}` is not a step party '{node.party}' takes")


flow_app = group("Set up the parties of a flow: their nodes and the keys they exchange.")
app.add_typer(flow_app, name="flow")


@flow_app.command("init")
def flow_init(
    workdir: Path = typer.Option(..., "--workdir", help="Where the nodes go: DIR/PARTY."),
    parties: list[str] = typer.Option(
        ..., "--parties", help="Parties, comma-separated or repeated: council,linker,dwp."
    ),
    policy_file: Path = typer.Option(
        example("troubled-families.yaml"), "--policy", help="The policy the nodes enforce."
    ),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Create a node for each party (all under one passphrase) and exchange the public
    keys each of the policy's flows needs. Run again, it keeps the nodes that exist and
    adds only the trusts still missing."""
    from evalink.node.network import init_network

    network = init_network(
        workdir,
        party_list(parties),
        policy_file,
        node_passphrase(passphrase_file, confirm=True),
        clock=clock(),
    )
    for party, fingerprint in network.fingerprints.items():
        state = "created" if party in network.created else "kept"
        console.print(
            f"{state} node '{party}' at {workdir / party}; key fingerprint {fingerprint}",
            highlight=False,
        )
    for truster, trusted in network.trusts:
        console.print(f"'{truster}' trusts '{trusted}'", highlight=False)
    console.print(
        f"public key files in {network.keys}; {len(network.trusts)} trusts added", highlight=False
    )


@app.command("share")
def share(
    node_dir: Path = NodeDir,
    to: str = typer.Option("linker", "--to", help="The trusted third party."),
    local_authority: str = typer.Option(
        "Sandwell", "--local-authority", help="Area name sent instead of addresses."
    ),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Council: split the cohort into identifiers and attributes, two sealed packages."""
    from evalink.share import share as run_share

    with open_node(node_dir, passphrase_file) as node:
        _require_party(node, ("council",), "share")
        shared = run_share(node, to=to, local_authority=local_authority)
    console.print(
        f"shared {shared.persons:,} persons in {shared.families:,} families with '{to}'",
        highlight=False,
    )
    console.print(f"wrote {shared.identifiers}\nwrote {shared.attributes}", highlight=False)


@app.command("dispatch")
def dispatch(
    node_dir: Path = NodeDir,
    to: str = typer.Option(..., "--to", help="Departments, comma-separated: dwp,moj,dfe."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Linker: send each department the identifier fields its flow allows."""
    from evalink.share import dispatch as run_dispatch

    departments = party_list([to])
    if not departments:
        raise InputError("--to: name at least one department")
    with open_node(node_dir, passphrase_file) as node:
        _require_party(node, ("linker",), "dispatch")
        for sent in run_dispatch(node, departments):
            console.print(
                f"{sent.department}: {sent.rows:,} identifiers ({', '.join(sent.fields)}) → {sent.package}",
                highlight=False,
            )


@app.command("match")
def match(
    node_dir: Path = NodeDir,
    population: Path = typer.Option(..., "--population", help="The department's own records."),
    outcomes: Path = typer.Option(
        example("outcomes-synth.yaml"),
        "--outcomes",
        help="How its tables become outcome records (default: the synthetic departments').",
    ),
    engine: Engine = typer.Option(Engine.duckdb, "--engine", help="Where linkage runs."),
    min_precision: float = typer.Option(
        0.995, "--min-precision", help="Estimated precision to keep."
    ),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Department: link the identifiers received to its records; return outcomes by reference number."""
    from evalink.match import match as run_match

    with open_node(node_dir, passphrase_file) as node:
        _require_party(node, ("department",), "match")
        with console.status("matching"):
            matched = run_match(
                node, population, outcomes, engine=engine.value, min_precision=min_precision
            )
    q = matched.quality
    console.print(
        f"matched {matched.matched:,} of {matched.identifiers:,} (rate {q['match_rate']:.3f}, "
        f"estimated precision {q['estimated_precision']:.4f}); {matched.outcome_rows:,} "
        f"{matched.dataset} rows → {matched.package}",
        highlight=False,
    )


@app.command("assemble")
def assemble(
    node_dir: Path = NodeDir,
    project: str = typer.Option(
        ..., "--project", help="Project name; each gets its own pseudonyms."
    ),
    to: str = typer.Option("research", "--to", help="The researchers' party."),
    allow_missing: list[str] | None = typer.Option(
        None,
        "--allow-missing",
        metavar="DEPT",
        help="Assemble without this department's outcomes (repeatable or comma-separated: "
        "--allow-missing moj,dfe).",
        show_default=False,
    ),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Linker: join, pseudonymise, de-identify until every intruder of the policy is
    within its bound (refused otherwise, naming the intruder and the risk), verify and
    seal the research dataset."""
    from evalink.assemble import assemble as run_assemble

    with open_node(node_dir, passphrase_file) as node:
        _require_party(node, ("linker",), "assemble")
        with console.status("assembling"):
            done = run_assemble(node, project, to=to, allow_missing=party_list(allow_missing))
    report = done.deidentified
    console.print(
        f"project '{done.project}': {done.persons:,} persons, {done.rows:,} rows → "
        f"{done.package}; k={report.k} on {', '.join(report.quasi_identifiers)} (smallest "
        f"class {report.smallest_class}); generalised: {'; '.join(report.steps)}",
        highlight=False,
    )
    for risk in report.risks:
        console.print(f"  {risk.line()}", highlight=False)


@app.command("export")
def export(
    node_dir: Path = NodeDir,
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset to read out."),
    out: Path | None = typer.Option(None, "--out", help="Parquet or CSV, by extension."),
    purpose: str | None = typer.Option(
        None,
        "--purpose",
        help="Why it is exported: a purpose of the policy's export rule (default: the "
        "rule's, when it allows one).",
    ),
    list_: bool = typer.Option(False, "--list", help="List the datasets this node holds."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Read a node's own data out, as an export rule of the policy allows (audited), or
    list what it holds."""
    from rich.table import Table

    with open_node(node_dir, passphrase_file) as node:
        if list_:
            table = Table(title=f"datasets held by '{node.party}'")
            for column in ("dataset", "location", "parts", "rows", "destroy by"):
                table.add_column(column)
            for name, parts in sorted(node.datasets().items()):
                dates = sorted({str(p.destroy_by) for p in parts if p.destroy_by})
                table.add_row(
                    name,
                    parts[0].location,
                    str(len(parts)),
                    f"{sum(p.rows for p in parts):,}",
                    ", ".join(dates) or "-",
                )
            console.print(table)
            return
        if dataset is None or out is None:
            raise InputError("export needs --dataset and --out (or --list)")
        from evalink.node.export import export_dataset

        exported = export_dataset(node, dataset, out, purpose)
    console.print(
        f"wrote {exported.rows:,} rows of '{dataset}' to {out} "
        f"(export rule '{exported.rule}', purpose '{exported.purpose}')",
        highlight=False,
    )
