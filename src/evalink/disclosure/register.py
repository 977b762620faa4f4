"""The register a project keeps at its research node of the tables it has prepared and
released, and the differencing check a new table goes through against it.

    register = Register(node)
    conflicts = register.differencing(table)            # against what was released
    register.record(table, name="by-area", table_id=sha, dataset="research_dataset")
    register.mark_released([sha], release_id="R-1")     # the airlock, on publishing

A table that passes every cell check can still give someone away beside an earlier
one: the same table by area over a population three people smaller tells whoever
subtracts one from the other about those three. So the register keeps, for every
table, the units (pseudonyms) behind each interior cell and the table's population,
and a new table is refused when, for a group both tables publish (a cell with the same
names and values, a margin, or the whole population), the units in one and not the
other are fewer than the policy's minimum count (and not none).

Units are pseudonyms: the register is a working dataset inside the node's encrypted
store (`table_register`), never a file, dated no later than the data it came from, and
what it says outside the node (messages, audit entries) is names, ids and counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from evalink.errors import EvalinkError, InputError, PolicyViolation

if TYPE_CHECKING:
    import pandas as pd

    from evalink.disclosure import SafeTable, TableSpec
    from evalink.node import Node, Part

REGISTER = "table_register"
PURPOSE = "evaluation: table register"

# One long table holds the whole register: a `table` row per table (its name, spec,
# source and summary), a `cell` row per unit of each interior cell, a `population` row
# per unit of the table, a `release` row per release of a table. Each record is a part
# of its own, so each is dated by the data it came from and goes with it.
_SCHEMA = pa.schema(
    [
        ("table_id", pa.string()),
        ("kind", pa.string()),
        ("cell", pa.string()),  # JSON list of the cell's key values (cell rows)
        ("unit", pa.string()),  # a pseudonym (cell and population rows)
        ("detail", pa.string()),  # JSON (table and release rows)
    ]
)

Status = Literal["prepared", "released"]
Against = Literal["released", "all"]

# A group a table publishes, by the names and values that define it: a cell
# {(area, A), (sex, F)}, a margin {(area, A)}, or the whole population frozenset().
Group = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class RegisterEntry:
    """What the register knows of one table."""

    table_id: str
    name: str
    spec: TableSpec
    dataset: str
    summary: dict[str, Any]
    recorded: date
    receipt: date  # when the data it came from was received
    status: Status = "prepared"
    release_id: str | None = None  # the first release that published it
    releases: tuple[str, ...] = ()
    min_count: int = 10
    # The units themselves: kept out of the repr so that printing an entry never shows one.
    cell_units: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict, repr=False)
    population: frozenset[str] = field(default_factory=frozenset, repr=False)


@dataclass(frozen=True)
class Differencing:
    """A group both tables publish whose units differ by fewer than `threshold` (but do
    differ). The size itself is never given: it is under the threshold, so it could be
    about one person."""

    earlier_name: str
    earlier_table_id: str
    release_id: str | None
    # (name, value) pairs in the new table's order; () for the whole population
    group: tuple[tuple[str, str], ...]
    threshold: int

    @property
    def difference(self) -> str:
        return f"fewer than {self.threshold}"

    def where(self) -> str:
        """The kind of group, by column names only (values are the data's)."""
        if not self.group:
            return "the whole population"
        return "a group by " + ", ".join(name for name, _ in self.group)

    def line(self) -> str:
        earlier = f"table '{self.earlier_name}' ({self.earlier_table_id[:12]}"
        earlier += f", release {self.release_id})" if self.release_id else ", prepared)"
        return f"{self.where()} differs from {earlier} by {self.difference} units"


class Register:
    """The register of `node` (a research node). Reads the node's `table_register`
    dataset once, when first needed; each read is audited like any other."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._entries: dict[str, RegisterEntry] | None = None

    # --- what the register holds ----------------------------------------------------

    def entries(self) -> list[RegisterEntry]:
        """Every table recorded, in the order they were recorded."""
        return list(self._load().values())

    def entry(self, table_id: str) -> RegisterEntry | None:
        return self._load().get(table_id)

    def released(self) -> list[RegisterEntry]:
        return [e for e in self.entries() if e.status == "released"]

    # --- the differencing check -----------------------------------------------------

    def differencing(
        self, table: SafeTable, *, against: Against | Collection[str] = "released"
    ) -> list[Differencing]:
        """The groups where `table` and an earlier table differ by fewer than the
        threshold's units: against the released tables, every recorded one ("all"), or
        the tables with these ids. The table itself (same id) is never its own earlier."""
        return differences(
            published_groups(table.spec, table.cell_units, table.population),
            (*table.spec.index, table.spec.columns),
            self._earlier(against),
            table.thresholds.min_count,
        )

    def differencing_of(
        self, table_id: str, *, against: Against | Collection[str] = "all"
    ) -> list[Differencing]:
        """`differencing` for a table already recorded, from what the register keeps of
        it: how the airlock checks the files of one request against each other."""
        entry = self.entry(table_id)
        if entry is None:
            raise InputError(
                f"table {table_id[:12]} is not in the table register of node '{self.node.party}'"
            )
        earlier = [e for e in self._earlier(against) if e.table_id != table_id]
        return differences(
            published_groups(entry.spec, entry.cell_units, entry.population),
            (*entry.spec.index, entry.spec.columns),
            earlier,
            entry.min_count,
        )

    def _earlier(self, against: Against | Collection[str]) -> list[RegisterEntry]:
        if against == "released":
            return self.released()
        if against == "all":
            return self.entries()
        if isinstance(against, str):
            raise InputError(
                f"differencing against '{against}': give 'released', 'all' or table ids"
            )
        wanted = set(against)
        unknown = sorted(wanted - set(self._load()))
        if unknown:
            raise InputError(
                f"table {unknown[0][:12]} is not in the table register of node '{self.node.party}'"
            )
        return [e for e in self.entries() if e.table_id in wanted]

    # --- writing ----------------------------------------------------------------------

    def record(self, table: SafeTable, *, name: str, table_id: str, dataset: str) -> None:
        """Record a prepared table: its spec, source, summary, and the units of each
        interior cell and of its population. A table already recorded (same id: the
        same published bytes) is left as it is."""
        if table_id in self._load():
            return
        receipt, ceiling = self._dates_of(dataset)
        detail = {
            "name": name,
            "spec": _jsonable(table.spec),
            "dataset": dataset,
            "summary": _jsonable(table.summary()),
            "recorded": str(self.node.today()),
            "receipt": str(receipt),
            "min_count": table.thresholds.min_count,
        }
        rows: dict[str, list[str | None]] = {name_: [] for name_ in _SCHEMA.names}

        def add(kind: str, cell: str | None, unit: str | None, extra: str | None) -> None:
            rows["table_id"].append(table_id)
            rows["kind"].append(kind)
            rows["cell"].append(cell)
            rows["unit"].append(unit)
            rows["detail"].append(extra)

        add("table", None, None, json.dumps(detail, sort_keys=True))
        for key, units in table.cell_units.items():
            cell = json.dumps([str(v) for v in key])
            for unit in sorted(units):
                add("cell", cell, str(unit), None)
        for unit in sorted(table.population):
            add("population", None, str(unit), None)
        with self.node.transaction("table register"):
            part = self.node.write_dataset(
                REGISTER,
                pa.table(rows, schema=_SCHEMA),
                events={"receipt": receipt},
                source="table",
            )
            _not_after(part, ceiling, dataset)
        self._entries = None

    def mark_released(self, table_ids: Collection[str], release_id: str) -> None:
        """Record that these tables were released (by the airlock) as `release_id`."""
        # One id given bare would otherwise be taken for a list of its characters.
        table_ids = [table_ids] if isinstance(table_ids, str) else list(dict.fromkeys(table_ids))
        held = self._load()
        unknown = [t for t in table_ids if t not in held]
        if unknown:
            raise InputError(
                f"table {unknown[0][:12]} is not in the table register of node '{self.node.party}'"
            )
        if not table_ids:
            return
        # Dated as the earliest of the records it refers to: it says which tables went out.
        receipt = min(held[t].receipt for t in table_ids)
        detail = json.dumps({"release_id": release_id, "on": str(self.node.today())})
        count = len(table_ids)
        batch = pa.table(
            {
                "table_id": list(table_ids),
                "kind": ["release"] * count,
                "cell": [None] * count,
                "unit": [None] * count,
                "detail": [detail] * count,
            },
            schema=_SCHEMA,
        )
        with self.node.transaction("table register"):
            self.node.write_dataset(REGISTER, batch, events={"receipt": receipt}, source="release")
        self._entries = None

    # --- reading ----------------------------------------------------------------------

    def _load(self) -> dict[str, RegisterEntry]:
        if self._entries is None:
            self._entries = _entries(self._rows())
        return self._entries

    def _rows(self) -> pa.Table:
        if not self.node.parts(REGISTER):
            return _SCHEMA.empty_table()
        return self.node.read_dataset(REGISTER, purpose=PURPOSE)

    def _dates_of(self, dataset: str) -> tuple[date, date | None]:
        """The day the data a table comes from was received (today for the node's own
        rows), and the earliest day any of it is due: a register part is dated from the
        first and may not outlive the second."""
        parts: list[Part] = self.node.parts(dataset)
        received = [p.received for p in parts if p.received is not None]
        due = [p.destroy_by for p in parts if p.destroy_by is not None]
        return (min(received) if received else self.node.today()), (min(due) if due else None)


def differences(
    new: Mapping[Group, frozenset[str]],
    names: tuple[str, ...],
    earlier: list[RegisterEntry],
    threshold: int,
) -> list[Differencing]:
    """Every group `new` shares with an earlier table whose unit sets differ by more
    than nothing and fewer than `threshold`: subtracting one from the other would
    publish that small group."""
    found: list[Differencing] = []
    for entry in earlier:
        theirs = published_groups(entry.spec, entry.cell_units, entry.population)
        shared = sorted(new.keys() & theirs.keys(), key=lambda g: (len(g), sorted(g)))
        for group in shared:
            size = len(new[group] ^ theirs[group])
            if 0 < size < threshold:
                order = {n: i for i, n in enumerate(names)}
                found.append(
                    Differencing(
                        entry.name,
                        entry.table_id,
                        entry.release_id,
                        tuple(sorted(group, key=lambda pair: order.get(pair[0], len(order)))),
                        threshold,
                    )
                )
    return found


def published_groups(
    spec: TableSpec,
    cell_units: Mapping[tuple[str, ...], frozenset[str]],
    population: frozenset[str],
) -> dict[Group, frozenset[str]]:
    """The groups a table publishes, each with its units: the interior cells, the row
    and column totals when the table has margins, and the whole population (its grand
    total, or what the cells add up to without margins)."""
    names = (*spec.index, spec.columns)
    groups: dict[Group, set[str]] = {}
    for key, units in cell_units.items():
        values = tuple(str(v) for v in key)
        groups.setdefault(frozenset(zip(names, values, strict=True)), set()).update(units)
        if spec.margins:
            groups.setdefault(frozenset(zip(spec.index, values[:-1], strict=True)), set()).update(
                units
            )
            groups.setdefault(frozenset({(spec.columns, values[-1])}), set()).update(units)
    frozen = {group: frozenset(units) for group, units in groups.items()}
    frozen[frozenset()] = frozenset(str(u) for u in population)
    return frozen


def _entries(rows: pa.Table) -> dict[str, RegisterEntry]:
    from evalink.disclosure import TableSpec

    tables: dict[str, dict[str, Any]] = {}
    cells: dict[str, dict[tuple[str, ...], set[str]]] = {}
    population: dict[str, set[str]] = {}
    releases: dict[str, list[str]] = {}
    for row in rows.to_pylist():
        table_id, kind = row["table_id"], row["kind"]
        if kind == "table":
            tables.setdefault(table_id, json.loads(row["detail"]))
        elif kind == "cell":
            key = tuple(json.loads(row["cell"]))
            cells.setdefault(table_id, {}).setdefault(key, set()).add(row["unit"])
        elif kind == "population":
            population.setdefault(table_id, set()).add(row["unit"])
        elif kind == "release":
            release = json.loads(row["detail"])["release_id"]
            if release not in releases.setdefault(table_id, []):
                releases[table_id].append(release)
    known = {f.name for f in fields(TableSpec)}
    entries: dict[str, RegisterEntry] = {}
    for table_id, detail in tables.items():
        spec = dict(detail["spec"])
        spec["index"] = tuple(spec["index"])
        out = releases.get(table_id, [])
        entries[table_id] = RegisterEntry(
            table_id=table_id,
            name=detail["name"],
            spec=TableSpec(**{k: v for k, v in spec.items() if k in known}),
            dataset=detail["dataset"],
            summary=detail["summary"],
            recorded=date.fromisoformat(detail["recorded"]),
            receipt=date.fromisoformat(detail["receipt"]),
            status="released" if out else "prepared",
            release_id=out[0] if out else None,
            releases=tuple(out),
            min_count=int(detail["min_count"]),
            cell_units={k: frozenset(v) for k, v in cells.get(table_id, {}).items()},
            population=frozenset(population.get(table_id, set())),
        )
    return entries


def _not_after(part: Part, ceiling: date | None, dataset: str) -> None:
    """Refuse (inside the transaction, so nothing is kept) a register part the policy
    would keep longer than the data its units came from."""
    if ceiling is None:
        return
    if part.destroy_by is None or part.destroy_by > ceiling:
        raise EvalinkError(
            f"table register: the policy dates this record "
            f"{part.destroy_by or 'never'}, after '{dataset}' (due {ceiling}); refusing to "
            "keep its units longer than the data they came from"
        )


def _jsonable(value: Any) -> Any:
    """Specs, summaries and their parts as JSON values (dataclasses, enums, tuples)."""
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, date):
        return str(value)
    if hasattr(value, "item"):  # a NumPy scalar
        return value.item()
    return value


# --- the `evalink table` step at a node --------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A table written and, at a node, recorded."""

    table_id: str
    name: str
    files: tuple[Path, Path]
    summary: dict[str, Any]
    recorded: bool


def table_id_of(path: Path) -> str:
    """A table's id: the SHA-256 of its publishable file's bytes (as the airlock
    addresses files)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refusal(node: Node, conflicts: list[Differencing], name: str) -> PolicyViolation:
    """The refusal of a table that differs from an earlier release by a small group."""
    rules = node.policy.disclosure_rules("public")
    rule = rules.id if rules is not None else "disclosure"
    first = conflicts[0]
    others = len({c.earlier_table_id for c in conflicts}) - 1
    more = f" (and {len(conflicts) - 1} more group(s)" if len(conflicts) > 1 else ""
    more += f", {others} more table(s)" if more and others else ""
    more += ")" if more else ""
    return PolicyViolation(
        f"table '{name}': {first.line()}{more}; subtracting one from the other would "
        "publish a group smaller than the threshold, and nothing was written",
        rule=rule,
        promises=[p.id for p in node.policy.promises_for(rule)],
    )


def prepare(
    table: SafeTable, out: Path, *, name: str, node: Node | None = None, dataset: str = "data"
) -> Prepared:
    """Write OUT.csv and OUT.checks.csv. At a node, first refuse a table that differs
    from a released one by a small group (nothing written), then record it in the
    register and audit it (aggregates only) in one transaction, and only then move the
    files into place: a refused or failed table leaves no OUT file."""
    register = Register(node) if node is not None else None
    if node is not None and register is not None:
        conflicts = register.differencing(table)
        if conflicts:
            refused = refusal(node, conflicts, name)
            # A refusal is evidence the check ran: kept in the log, by ids and counts.
            node.audit.record(
                "table-refused",
                table=name,
                dataset=dataset,
                rule=refused.rule,
                earlier=sorted({c.earlier_table_id for c in conflicts}),
                releases=sorted({c.release_id for c in conflicts if c.release_id}),
                groups=len(conflicts),
            )
            raise refused
    with _staged(out) as staged:
        files = table.write(staged)
        table_id = table_id_of(files[0])
        summary = table.summary()
        if node is not None and register is not None:
            with node.transaction("table"):
                register.record(table, name=name, table_id=table_id, dataset=dataset)
                node.record_on_commit("table", **audit_details(name, table_id, dataset, summary))
        final = (out, out.parent / files[1].name)
        for written, target in zip(files, final, strict=True):
            os.replace(written, target)
    return Prepared(table_id, name, final, summary, node is not None)


def audit_details(
    name: str, table_id: str, dataset: str, summary: dict[str, Any]
) -> dict[str, Any]:
    """What the audit log says of a table: names, the id, the spec and counts of cells
    by status and rule; no cell's value and no unit. ("name" is a word the log keeps
    for identifiers, hence "table".)"""
    counts = {
        k: summary[k]
        for k in ("cells", "published", "suppressed_primary", "suppressed_secondary")
        if k in summary
    }
    return {
        "table": name,
        "table_id": table_id,
        "dataset": dataset,
        "spec": _jsonable(summary.get("spec")),
        "cells_by_status": _jsonable(counts),
        "rules": _jsonable(summary.get("rules", {})),
    }


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A path like `out` in a temporary folder beside it (same file system, so the
    files move into place by rename); the folder goes whatever happens."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield folder / out.name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def select_rows(data: pd.DataFrame, where: list[str], *, source: str) -> pd.DataFrame:
    """`--where COL=VALUE` (repeatable): the rows where every COL equals its VALUE,
    compared as text. A column the data lacks is refused, naming it."""
    for condition in where:
        column, sep, value = condition.partition("=")
        column = column.strip()
        if not sep or not column:
            raise InputError("--where: give COL=VALUE (a condition has no '=' or no column)")
        if column not in data.columns:
            raise InputError(f"{source}: no column '{column}' (in --where)")
        # Compared as text, so --where year=2016 finds 2016 whether it was read as a
        # number or a string; a missing value matches nothing.
        matches = (data[column].astype("string") == value.strip()).fillna(False)
        data = data[matches.astype(bool)]
    return data
