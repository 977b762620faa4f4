"""The demonstration `make demo` runs: each stage of the flow, in order, on synthetic data.

For now: the policy, and the documents published from it. Later stages append here.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from evalink.files import write_text_atomic
from evalink.policy import load_policy, render_notice, render_ropa


def run_demo(policy_file: Path, workdir: Path, console: Console) -> dict[str, Path]:
    policy = load_policy(policy_file)
    doc = policy.document
    console.rule(f"evalink demo — policy '{policy.id}' version {policy.version}")

    outputs = {
        "notice.md": render_notice(policy, "md"),
        "notice.html": render_notice(policy, "html"),
        "ropa.md": render_ropa(policy, "md"),
        "ropa.csv": render_ropa(policy, "csv"),
    }
    written = {}
    for name, text in outputs.items():
        written[name] = workdir / name
        write_text_atomic(written[name], text)

    parties = Table(title="Parties", show_lines=False)
    for column in ("id", "name", "role", "identifier vault"):
        parties.add_column(column)
    for party in doc.parties:
        parties.add_row(
            party.id, party.name, party.role.value, "yes" if party.holds_identifiers else ""
        )
    console.print(parties)

    promises = Table(title="Promises to families and the rules that keep them")
    promises.add_column("promise")
    promises.add_column("kept by")
    for promise in doc.promises:
        promises.add_row(promise.id, ", ".join(promise.enforced_by))
    console.print(promises)

    console.print(
        f"{len(doc.flows)} flows, {len(doc.retention)} retention rules, "
        f"{len(doc.safeguards)} safeguards; everything else is refused (default deny)."
    )
    for path in written.values():
        console.print(f"wrote {path}", highlight=False)
    return written
