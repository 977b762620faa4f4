"""The automatic check result each file of a request carries, and the same checks run
again where the file arrives.

    a table (OUT.csv by `evalink table --node`)   in the research node's table register
        under the SHA-256 of its bytes; scanned again as published (`scan_published`:
        no count under the threshold, none off the rounding base, no disclosive zero);
        no group that differs by fewer than the threshold from another table of the
        request or a released one (the register's differencing check)
    a chart or a report (anything not .csv)       drawn from tables named in the request
        (`--drawn-from`), each in the same request and passed: "nothing is drawn from an
        unchecked table". Its own pixels cannot be scanned; the reviewers look at them.
    anything else                                 no check result: it cannot be
        submitted, approved or published
    OUT.checks.csv                                refused from any request: it lists
        every cell before suppression, the suppressed counts included

A result is JSON of aggregates only (counts of cells by status and rule, the table's
spec), and its SHA-256 is what reviewers sign beside the file's: a file whose result
changes (a chart whose table was replaced) needs its reviews again.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evalink.release.states import ReleaseRefused

if TYPE_CHECKING:
    from evalink.node import Node
    from evalink.policy import Policy

CHECKS_SUFFIX = ".checks.csv"
TABLE_SUFFIX = ".csv"
TABLE, DRAWN, UNCHECKED = "table", "drawn", "unchecked"
_COUNTS = ("cells", "published", "suppressed_primary", "suppressed_secondary")


def checks_digest(checks: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(checks, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def refuse_checks_file(file: str) -> None:
    if file.lower().endswith(CHECKS_SUFFIX):
        raise ReleaseRefused(
            f"file '{file}' is a table's checks file: it lists every cell before suppression, "
            "the suppressed counts included, and never leaves the node; request OUT.csv",
            rule="no-checks-files",
        )


def is_table_file(file: str) -> bool:
    return file.lower().endswith(TABLE_SUFFIX)


def open_register(node: Node) -> Any:
    """The research node's table register (evalink.disclosure.register)."""
    from evalink.disclosure.register import Register

    return Register(node)


def file_checks(
    node: Node,
    files: Mapping[str, str],
    content: Mapping[str, bytes],
    drawn_from: Mapping[str, Sequence[str]],
) -> dict[str, dict[str, Any]]:
    """The check result of every file of a request (`files`: name → SHA-256)."""
    register = open_register(node)
    results: dict[str, dict[str, Any]] = {}
    tables = {f: sha for f, sha in files.items() if is_table_file(f)}
    for file, sha in tables.items():
        others = [other for f, other in tables.items() if f != file]
        results[file] = table_checks(node, register, sha, content[file], others)
    for file in files:
        if file not in tables:
            results[file] = drawn_checks(drawn_from.get(file, ()), files, results)
    return results


def table_checks(
    node: Node, register: Any, sha256: str, content: bytes, others: Sequence[str]
) -> dict[str, Any]:
    entry = register.entry(sha256)
    if entry is None:
        return {"kind": UNCHECKED, "passed": False, "problems": [
            "not a table in this node's table register: make it with `evalink table --node`"
            " and request the OUT.csv it wrote, unchanged"]}
    spec = spec_record(entry.spec)
    problems = rescan(content, spec, node.policy)
    conflicts = list(register.differencing_of(sha256, against="released"))
    known = [other for other in others if register.entry(other) is not None]
    if known:
        conflicts += register.differencing_of(sha256, against=known)
    problems += [f"differencing: {c.line()}" for c in conflicts]
    summary = dict(entry.summary)
    return {
        "kind": TABLE,
        "table": sha256,
        "register": entry.name,
        "spec": spec,
        "summary": {
            **{key: int(summary[key]) for key in _COUNTS if key in summary},
            "rules": {str(k): int(v) for k, v in (summary.get("rules") or {}).items()},
        },
        "passed": not problems,
        "problems": problems,
    }


def drawn_checks(
    sources: Sequence[str], files: Mapping[str, str], results: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    if not sources:
        return {"kind": UNCHECKED, "passed": False, "problems": [
            "a chart or report is checked through the tables it is drawn from: name them "
            "with --drawn-from FILE=TABLE.csv"]}
    problems = []
    drawn = []
    for source in sources:
        result = results.get(source)
        if source not in files or result is None:
            problems.append(f"drawn from '{source}', which is not a table in this request")
            continue
        if result["kind"] != TABLE or not result["passed"]:
            problems.append(f"drawn from '{source}', which did not pass its checks")
        drawn.append({"file": source, "table": files[source]})
    return {"kind": DRAWN, "drawn_from": drawn, "passed": not problems, "problems": problems}


def spec_record(spec: Any) -> dict[str, Any]:
    """A TableSpec as the check result carries it. Its `values` travels as `measure`:
    package notes may not use a key the policy keeps for identifiers."""
    return {
        "index": [str(c) for c in spec.index], "columns": str(spec.columns),
        "measure": spec.values, "aggfunc": str(spec.aggfunc), "unit": spec.unit,
        "margins": bool(spec.margins),
    }


def rescan(content: bytes, spec: Mapping[str, Any], policy: Policy, party: str = "public") -> list[str]:
    """What `scan_published` finds in a table's bytes, under the policy's rules for
    `party`: [] if nothing."""
    import pandas as pd

    from evalink.disclosure import TableSpec, Thresholds, scan_published

    table_spec = TableSpec(
        index=tuple(spec["index"]), columns=spec["columns"], values=spec.get("measure"),
        aggfunc=spec.get("aggfunc", "count"), unit=spec.get("unit"),
        margins=bool(spec.get("margins", True)),
    )
    try:
        published = pd.read_csv(io.BytesIO(content), dtype={c: str for c in table_spec.index})
    except (ValueError, UnicodeDecodeError) as error:
        return [f"cannot be read as a CSV table ({type(error).__name__})"]
    missing = [c for c in table_spec.index if c not in published.columns]
    if missing:
        return [f"has no column '{missing[0]}' of its spec's index"]
    return list(scan_published(published, table_spec, Thresholds.for_party(policy, party)))
