"""`evalink identify`: the council finds its families; `evalink identify explain`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from evalink.cli.app import UsageError, app, console, group, spinner
from evalink.cli.options import DateOption, PassphraseFile
from evalink.errors import InputError

identify_app = group("Identify the families eligible for the programme (council).")
app.add_typer(identify_app, name="identify")


@identify_app.callback(invoke_without_command=True)
def identify(
    ctx: typer.Context,
    node_dir: Path | None = typer.Option(None, "--node", help="The council's node directory."),
    sources: Path | None = typer.Option(None, "--sources", help="Directory of local extracts."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Mapping YAML for the extracts."),
    rules: Path | None = typer.Option(None, "--rules", help="Eligibility rules YAML."),
    as_of: date | None = DateOption(None, "--as-of", help="Date to judge eligibility on."),
    out: Path | None = typer.Option(
        None, "--out", help="Also write families.parquet, persons.parquet here."
    ),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Read local sources, resolve persons and families, evaluate eligibility rules and
    record the cohort in the council's node."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [
        name
        for name, value in (
            ("--node", node_dir),
            ("--sources", sources),
            ("--mapping", mapping),
            ("--rules", rules),
            ("--as-of", as_of),
        )
        if value is None
    ]
    if missing:
        raise UsageError(f"identify needs {', '.join(missing)}")
    assert node_dir and sources and mapping and rules and as_of
    from evalink.cli.node import open_node
    from evalink.identify import identify as run_identify
    from evalink.identify import store_in_node, write_outputs

    day: date = as_of
    with open_node(node_dir, passphrase_file) as node:
        if node.party != "council":
            raise InputError(f"{node_dir}: identify runs at the council's node, not '{node.party}'")
        with spinner("identify") as phase:
            result = run_identify(sources, mapping, rules, day, progress=phase, policy=node.policy,
                                  temp_directory=node.dir / "tmp")
            phase("storing in the council node")
            store_in_node(node, result, day)
    if out is not None:
        for path in write_outputs(result, out):
            console.print(f"wrote {path}", highlight=False)
    summary = result.summary()
    table = Table(title=f"identify as of {day}")
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    console.print(table)
    if summary["quarantined"]:
        reasons = result.quarantine.group_by("source", "reason").len().sort("source", "reason")
        for row in reasons.iter_rows(named=True):
            console.print(
                f"quarantined {row['len']:,} rows of {row['source']}: {row['reason']}",
                highlight=False,
            )


@identify_app.command("explain")
def explain(
    family_key: str = typer.Argument(..., help="A family_key from the last identify run."),
    node_dir: Path = typer.Option(..., "--node", help="The council's node directory."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Which headlines a family meets, and the evidence for each (source, record, date, rule)."""
    import polars as pl

    from evalink.cli.node import open_node
    from evalink.identify import explain as explain_family

    with open_node(node_dir, passphrase_file) as node:
        family, evidence = explain_family(node, family_key)
    console.print(
        f"family {family_key}: {family['cohort']}, eligible={family['eligible']}, "
        f"{family['headline_count']} headlines, priority {family['priority']:g}",
        highlight=False,
    )
    # One line per piece of evidence: long rule texts stay whole and can be grepped.
    for headline in family["headlines"]:
        console.print(f"{headline}:", highlight=False)
        for row in evidence.filter(pl.col("headline") == headline).iter_rows(named=True):
            console.print(
                f"  {row['rule']} — {row['source']} record {row['source_record_id']} "
                f"({row['start']}), person {row['person_key']}",
                highlight=False,
                markup=False,
            )
