"""The linker sends each department the identifiers it needs to find people — only the
fields the department's flow allows — and keeps a record of what it sent to whom."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from evalink.errors import InputError

if TYPE_CHECKING:
    from evalink.node import Node


@dataclass
class Dispatched:
    department: str
    package: Path
    rows: int
    fields: list[str]


def dispatch(node: Node, departments: list[str]) -> list[Dispatched]:
    """Seal the vault's identifiers for each department, cut to its flow's allow-list.

    Sending the same identifiers to a department twice would make it hold (and match)
    everyone twice, so a repeat is refused; new identifiers from a later share go out.
    All departments are sent to in one transaction: one that cannot be sent to (its key
    not trusted) stops the dispatch with nothing sent to any.
    """
    parts = sorted(p.part_id for p in node.parts("identifiers"))
    if not parts:
        raise InputError(
            f"node '{node.party}' holds no identifiers to dispatch; run `evalink receive` first"
        )
    identifiers = pl.from_arrow(node.read_dataset("identifiers", purpose="dispatch"))
    sent_before = _dispatches(node)
    out = []
    with node.transaction("dispatch"):
        for department in dict.fromkeys(departments):  # each once, even if named twice
            out.append(_dispatch_one(node, department, identifiers, parts, sent_before))
    return out


def _dispatch_one(
    node: Node,
    department: str,
    identifiers: pl.DataFrame,
    parts: list[str],
    sent_before: pl.DataFrame,
) -> Dispatched:
    """One department's identifiers, cut to its flow's allow-list, and the record of them."""
    flows = [
        f
        for f in node.policy.flows_to(department)
        if f.from_ == node.party and f.dataset == "identifiers"
    ]
    if not flows:
        # check_flow names the rule that refuses it.
        node.policy.check_flow(node.party, department, "identifiers", identifiers.columns)
    already = sent_before.filter(
        (pl.col("department") == department) & pl.col("parts").is_in([",".join(parts)])
    )
    if already.height:
        raise InputError(
            f"these identifiers were already dispatched to '{department}' "
            f"({already['package'][0]}); refusing to send them twice, and nothing was sent "
            "(leave it out of --to to send to the others)"
        )
    fields = [name for name in flows[0].fields if name in identifiers.columns]
    package = node.send(department, "identifiers", identifiers.select(fields).to_arrow())
    record = pa.table(
        {"department": [department], "parts": [",".join(parts)], "package": [package.name]}
    )
    node.write_dataset("dispatches", record, source="dispatch")
    return Dispatched(department, package, identifiers.height, fields)


def _dispatches(node: Node) -> pl.DataFrame:
    if not node.parts("dispatches"):
        return pl.DataFrame(schema={"department": pl.Utf8, "parts": pl.Utf8, "package": pl.Utf8})
    return pl.from_arrow(node.read_dataset("dispatches", purpose="dispatch"))
