"""`evalink table`: a researcher's safe table, in the spirit of ACRO's `crosstab`.

    evalink table --policy POLICY --data FILE --index COLS --columns COL \\
        [--values COL --aggfunc count|sum|mean] [--unit COL] --out OUT.csv
    evalink table --node RESEARCH_DIR --dataset NAME --index ... --out OUT.csv

OUT.csv is the publishable table (suppressed cells empty, counts rounded), OUT.checks.csv
every cell with its status and the rules it failed. At a node the table is first checked
for differencing against the tables already released, then recorded in the node's
table register."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from evalink.cli.app import UsageError, app, console
from evalink.cli.options import PassphraseFile, party_list


class AggFunc(enum.StrEnum):
    """evalink.disclosure.TableSpec.aggfunc"""

    count = "count"
    sum = "sum"
    mean = "mean"


@app.command("table")
def table(
    index: list[str] = typer.Option(
        ..., "--index", metavar="COLS", help="Row columns (1 to 3), comma-separated or repeated: area,sex."
    ),
    columns: str = typer.Option(..., "--columns", metavar="COL", help="The column whose values are the table's columns."),
    out: Path = typer.Option(..., "--out", metavar="OUT.csv", help="The publishable table, OUT.csv (and OUT.checks.csv)."),
    data: Path | None = typer.Option(None, "--data", metavar="FILE", help="A CSV or Parquet file of rows."),
    policy_file: Path | None = typer.Option(
        None, "--policy", metavar="POLICY", help="The policy whose disclosure rules apply (with --data; a node has its own)."
    ),
    node_dir: Path | None = typer.Option(
        None, "--node", metavar="DIR", help="The research node: read --dataset from it and keep the table in its register."
    ),
    dataset: str | None = typer.Option(None, "--dataset", metavar="NAME", help="The node's dataset to tabulate."),
    values: str | None = typer.Option(None, "--values", metavar="COL", help="The numeric column to sum or average."),
    aggfunc: AggFunc = typer.Option(AggFunc.count, "--aggfunc", help="count, sum or mean."),
    unit: str | None = typer.Option(
        None, "--unit", metavar="COL", help="Count distinct values of this column (persons, families) rather than rows."
    ),
    margins: bool = typer.Option(True, "--margins/--no-margins", help="Publish row, column and grand totals."),
    name: str | None = typer.Option(None, "--name", metavar="NAME", help="The table's name in the register (default: OUT's stem)."),
    where: list[str] = typer.Option(
        [], "--where", metavar="COL=VALUE", help="Keep only rows where COL is VALUE (repeatable)."
    ),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Tabulate rows as the policy's disclosure rules allow: cells below the minimum
    count, dominated or failing the p-ratio are suppressed, and enough others with them
    that none can be worked out from what is published; counts are rounded. At a node,
    a table that differs from a released one by a group smaller than the minimum count
    is refused, naming the release, and nothing is written."""
    from evalink.disclosure import TableSpec, Thresholds, safe_table
    from evalink.disclosure.register import prepare, select_rows
    from evalink.files import read_table

    if (data is None) == (dataset is None):
        raise UsageError("give --data FILE, or --node DIR with --dataset NAME")
    if dataset is not None and node_dir is None:
        raise UsageError("--dataset NAME needs --node DIR")
    if node_dir is None and policy_file is None:
        raise UsageError("--data FILE needs --policy POLICY (or --node DIR, whose policy applies)")
    spec = TableSpec(
        index=tuple(party_list(index)), columns=columns, values=values,
        aggfunc=aggfunc.value, unit=unit, margins=margins,
    )
    label = name or out.stem

    if node_dir is None:
        from evalink.policy import load_policy

        assert policy_file is not None and data is not None
        policy = load_policy(policy_file)
        frame = select_rows(read_table(data).to_pandas(), where, source=str(data))
        safe = safe_table(frame, Thresholds.for_party(policy), spec, source=str(data))
        prepared = prepare(safe, out, name=label)
        kept_at = None
    else:
        from evalink.cli.node import open_node

        with open_node(node_dir, passphrase_file) as node:
            if policy_file is not None:
                _same_policy(policy_file, node.policy.fingerprint, node_dir)
            if data is not None:
                # The node's own rows in a file: tabulated and registered at the node.
                source, kept_as = str(data), data.name
                frame = read_table(data).to_pandas()
            else:
                assert dataset is not None
                source, kept_as = f"dataset '{dataset}'", dataset
                frame = node.read_dataset(dataset, purpose="evaluation").to_pandas()
            frame = select_rows(frame, where, source=source)
            safe = safe_table(frame, Thresholds.for_party(node.policy), spec, source=source)
            prepared = prepare(safe, out, name=label, node=node, dataset=kept_as)
            kept_at = node.party
    _print_summary(prepared.summary, prepared.files, label, prepared.table_id, kept_at)


def _same_policy(policy_file: Path, fingerprint: str, node_dir: Path) -> None:
    from evalink.errors import InputError
    from evalink.policy import load_policy

    if load_policy(policy_file).fingerprint != fingerprint:
        raise InputError(
            f"{policy_file} is not the policy node {node_dir} was made with; leave --policy "
            "out at a node (its own policy applies)"
        )


def _print_summary(
    summary: dict, files: tuple[Path, Path], name: str, table_id: str, party: str | None
) -> None:
    cells = summary.get("cells", 0)
    console.print(
        f"table '{name}': {summary.get('published', 0):,} of {cells:,} cells published, "
        f"{summary.get('suppressed_primary', 0):,} suppressed (primary), "
        f"{summary.get('suppressed_secondary', 0):,} suppressed (secondary)",
        highlight=False,
    )
    rules = summary.get("rules") or {}
    if rules:
        console.print(
            "  rules: " + ", ".join(f"{rule} {count:,}" for rule, count in sorted(rules.items())),
            highlight=False,
        )
    console.print(f"  wrote {files[0]} and {files[1]}", highlight=False)
    if party is not None:
        console.print(f"  recorded in the table register of node '{party}' as {table_id[:12]}",
                      highlight=False)
