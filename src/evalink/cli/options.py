"""Options and value types several commands share, defined once here.

A command declares `node_dir: Path = NodeDir`; a date is `DateOption(None, "--as-of", ...)`;
a fixed set of values is an enumeration, so `--help` lists the values and a wrong one is
refused before the command runs. Nothing here imports a stage: `evalink --help` stays fast.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

import typer

from evalink.clock import iso_day

NodeDir = typer.Option(..., "--node", help="The node's directory.", show_default=False)

# For `node init`, `node export-public`, ...: the node used to be a positional DIR there.
# Old scripts still work (see `evalink.cli.node.node_dir`), but help shows only --node.
NodeDirOption = typer.Option(
    None, "--node", help="The node's directory (required).", show_default=False
)
LegacyNodeDir = typer.Argument(None, hidden=True, show_default=False)

PassphraseFile = typer.Option(
    None,
    "--passphrase-file",
    metavar="FILE",
    help="Read the node's passphrase from FILE (mode 600). Otherwise: EVALINK_PASSPHRASE, "
    "EVALINK_PASSPHRASE_FILE, or a prompt on a terminal.",
    show_default=False,
)
NewPassphraseFile = typer.Option(
    None,
    "--new-passphrase-file",
    metavar="FILE",
    help="Read the new passphrase from FILE (mode 600). Otherwise: EVALINK_NEW_PASSPHRASE, "
    "EVALINK_NEW_PASSPHRASE_FILE, or a prompt on a terminal.",
    show_default=False,
)


def iso_date(value: str | date) -> date:
    """YYYY-MM-DD and nothing else (see `evalink.clock.iso_day`)."""
    if isinstance(value, date):
        return value
    day = iso_day(value)
    if day is None:
        raise typer.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)")
    return day


def DateOption(default: Any, *names: str, help: str, **kwargs: Any) -> Any:
    """An option holding one day, e.g. `as_of: date | None = DateOption(None, "--as-of",
    help=...)`. A wrong value is a usage error: `'--as-of': '2015-13-01' is not a date`."""
    return typer.Option(default, *names, help=help, parser=iso_date, metavar="YYYY-MM-DD", **kwargs)


class Engine(enum.StrEnum):
    """Where linkage runs (evalink.link.engines.ENGINES)."""

    duckdb = "duckdb"
    spark = "spark"


class NoticeFormat(enum.StrEnum):
    """evalink.policy.render.NOTICE_FORMATS"""

    md = "md"
    html = "html"


class RopaFormat(enum.StrEnum):
    """evalink.policy.render.ROPA_FORMATS"""

    md = "md"
    csv = "csv"


def party_list(values: list[str] | None) -> list[str]:
    """`--to dwp,moj --to dfe` → ["dwp", "moj", "dfe"]: repeatable, comma-separated or both;
    blanks dropped, order kept, each party once."""
    parties: list[str] = []
    for value in values or ():
        for party in value.split(","):
            party = party.strip()
            if party and party not in parties:
                parties.append(party)
    return parties


class ReportFormat(enum.StrEnum):
    """A report for people (a table) or for programs (JSON)."""

    table = "table"
    json = "json"
