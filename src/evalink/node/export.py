"""Reading a dataset out of a node into a clear file: a transfer out of the governed system.

    exported = export_dataset(node, "research_dataset", "research.parquet", "evaluation")

Nothing follows the file once it is written — no key, no audit log, no retention rule —
so an export is allowed only as an export rule of the policy describes it
(`Policy.check_export`): the party, the dataset, the purpose, and the classes of field.
The check is made on the fields the catalog records for the dataset's parts, before a
single row is read, and a refusal writes nothing but a `refused` audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalink.errors import InputError, PolicyViolation
from evalink.files import table_format, write_table

if TYPE_CHECKING:
    from evalink.node.node import Node, Part


@dataclass(frozen=True)
class Exported:
    dataset: str
    rows: int
    out: Path
    rule: str
    purpose: str


def export_dataset(
    node: Node, dataset: str, out: Path | str, purpose: str | None = None
) -> Exported:
    """Write `dataset` as `out` (Parquet or CSV, by extension) if an export rule allows it.

    With no `purpose`, the purpose of the rule that covers the dataset is taken (and
    recorded); when the rules allow several, it must be named.
    """
    out = Path(out)
    table_format(out)  # a bad extension is refused before anything is read
    parts = node.parts(dataset)
    if not parts:
        # The node says why it holds none: never held, or destroyed on schedule (when,
        # under which rule, with which certificate). Nothing is read either way.
        node.read_dataset(dataset, purpose="export")
        raise InputError(f"dataset '{dataset}' is not held by node '{node.party}'")
    fields = _fields(parts)
    try:
        rule = node.policy.check_export(node.party, dataset, fields, purpose)
    except PolicyViolation as refusal:
        node.audit.record(
            "refused",
            operation="export",
            dataset=dataset,
            fields=fields,
            purpose=purpose,
            rule=refusal.rule,
            promises=refusal.promises,
        )
        raise
    data = node.read_dataset(dataset, purpose=f"export: {rule.purpose}")
    if sorted(data.schema.names) != sorted(fields):
        # The catalog is what was checked; a part whose columns differ from it is damage,
        # not something to export on trust.
        raise InputError(
            f"dataset '{dataset}': its parts' columns differ from the catalog's; not exported"
        )
    write_table(data, out)
    node.audit.record(
        "export",
        dataset=dataset,
        rows=data.num_rows,
        fields=fields,
        file=out.name,
        rule=rule.id,
        purpose=rule.purpose,
    )
    return Exported(dataset, data.num_rows, out, rule.id, rule.purpose)


def _fields(parts: list[Part]) -> list[str]:
    """Every column any part of the dataset holds, in first-seen order (parts of one
    dataset are read as a union by name)."""
    names: list[str] = []
    for part in parts:
        names += [name for name in part.fields if name not in names]
    return names
