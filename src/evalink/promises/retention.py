"""Retention promises: once a rule's date has passed at a node, is the data gone?

Per node the rule covers, on the day of the check:

- nothing the rule dates is held past its destroy-by date, and nothing it covers is
  held with no date at all when the rule counts from a fixed day or from receipt (a
  department's match table written without one would never go);
- each destroyed dataset, read, is refused as destroyed (with its certificate), and
  each dataset the node's log shows it held is either still held or was destroyed;
- the certificates verify against the node's own key, and none was done after its
  due date (a part destroyed late was held longer than promised);
- no copy of a package past its date is left in the outbox, sent copies or refused;
- every dataset still held is read and compared with the cohort's identifiers and
  reference numbers, and every file of the node is scanned raw for them (see
  rawscan.py for what is looked for and what is not).

Where a rule covers only some of what a node holds (the council: each family seven
years after its own case closed), the values looked for are those of the persons no
longer held, less any value a person still held shares with them.
"""

from __future__ import annotations

from datetime import date
from pathlib import PurePath

import polars as pl

from evalink.node import Part
from evalink.policy import Policy, RetentionRule
from evalink.policy.spec import RetentionEvent
from evalink.promises.cohort import Cohort, hits, not_held_by
from evalink.promises.nodes import PACKAGE_FOLDERS, NodeEvidence, unreadable
from evalink.promises.report import Finding, broken, checked, unchecked
from evalink.retention import governing_rule

REFUSED = "refused as destroyed"


def retention_rules(policy: Policy, rule_ids: list[str]) -> list[RetentionRule]:
    return [r for r in policy.document.retention if r.id in rule_ids]


def check_retention(
    policy: Policy,
    rules: list[RetentionRule],
    nodes: dict[str, NodeEvidence],
    cohort: Cohort | None,
    today: date,
) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        for party in rule.parties:
            node = nodes.get(party)
            if node is None:
                findings.append(unchecked(f"{party}: no node in this workdir"))
                continue
            findings += _at_node(policy, rule, node, cohort, today)
    return findings


def _governed(policy: Policy, rule: RetentionRule, node: NodeEvidence) -> list[Part]:
    """The parts this rule dates at the node, and those it covers but no rule dates."""
    return [
        p
        for p in node.parts
        if rule.covers(node.party, p.dataset)
        and (p.destroy_by is None or governing_rule(policy, node.party, p) == rule.id)
    ]


def _at_node(
    policy: Policy, rule: RetentionRule, node: NodeEvidence, cohort: Cohort | None, today: date
) -> list[Finding]:
    parts = _governed(policy, rule, node)
    certificates = [c for c in node.certificates if c.rule == rule.id]
    dates = {p.destroy_by for p in parts if p.destroy_by} | {c.due for c in certificates if c.due}
    if rule.destroy_by is not None and rule.after is None:
        dates.add(rule.destroy_by)
    if not dates:
        return [unchecked(f"{node.party}: holds nothing rule '{rule.id}' has dated yet")]
    if min(dates) > today:
        return [unchecked(f"{node.party}: first due {min(dates)} under rule '{rule.id}'")]

    findings: list[Finding] = []
    overdue = [p for p in parts if p.destroy_by and p.destroy_by <= today]
    if overdue:
        findings.append(
            broken(
                f"{node.party} holds {len(overdue)} part(s) past their destroy-by date "
                f"({_names(p.dataset for p in overdue)}; due {min(p.destroy_by for p in overdue if p.destroy_by)})"
            )
        )
    undated = [p for p in parts if p.destroy_by is None]
    if undated and rule.after in (None, RetentionEvent.RECEIPT):
        findings.append(
            broken(
                f"{node.party} holds {_names(p.dataset for p in undated)} with no destroy-by date, "
                f"though rule '{rule.id}' dates everything it covers"
            )
        )
    late = [c for c in certificates if c.due and c.done > c.due]
    if late:
        days = max((c.done - c.due).days for c in late if c.due)
        findings.append(
            broken(
                f"{node.party}: {len(late)} part(s) destroyed after their due date, up to "
                f"{days} day(s) late ({_names(c.dataset for c in late)})"
            )
        )
    if node.certificate_problems:
        findings.append(
            broken(
                f"{node.party}: {len(node.certificate_problems)} certificate problem(s), first: "
                f"{node.certificate_problems[0]}"
            )
        )
    covered_gone = {
        name: outcome
        for name, outcome in node.reads_of_gone.items()
        if rule.covers(node.party, name)
    }
    for name, outcome in sorted(covered_gone.items()):
        if outcome != REFUSED:
            findings.append(broken(f"{node.party}: reading destroyed '{name}' {outcome}"))
    copies = _package_copies_past_date(node, today, whole=_whole(rule, parts, today))
    if copies:
        findings.append(
            broken(
                f"{node.party} still holds {len(copies)} package file(s) past their date "
                f"({_names(c.split('/')[0] for c in copies)})"
            )
        )
    findings += _scans(rule, parts, node, cohort, today)
    if not any(f.broken for f in findings):
        refused = sum(1 for o in covered_gone.values() if o == REFUSED)
        kept_rows = sum(p.rows for p in parts)
        findings.append(
            checked(
                f"{node.party}: {len(certificates)} certificate(s) under '{rule.id}' verify, none late; "
                f"{refused} destroyed dataset(s) refused when read; "
                + (
                    f"{len(parts)} part(s) ({kept_rows:,} rows) not yet due"
                    if parts
                    else "nothing due held"
                )
            )
        )
    return findings


def _whole(rule: RetentionRule, parts: list[Part], today: date) -> bool:
    """Whether everything the node holds under this rule is due: then it must hold
    nothing of the cohort, and no package file at all."""
    return "*" in rule.datasets and all(p.destroy_by and p.destroy_by <= today for p in parts)


def _package_copies_past_date(node: NodeEvidence, today: date, *, whole: bool) -> list[str]:
    on_disk = set(node.package_files)
    past = set()
    for copy in node.package_copies:
        if copy.get("destroy_by") and copy["destroy_by"] <= today:
            # A copy tracked in the outbox has moved to outbox/sent/ if it was delivered.
            sent = str(copy["file"]).replace("outbox/", "outbox/sent/", 1)
            past |= {str(copy["file"]), sent} & on_disk
    if whole:
        # Everything the node held under the rule is gone: so must every copy of it be,
        # tracked or not (a sent copy opens with the recipient's key for good).
        past |= {f for f in on_disk if f.startswith(PACKAGE_FOLDERS)}
    return sorted(past)


def _scans(
    rule: RetentionRule, parts: list[Part], node: NodeEvidence, cohort: Cohort | None, today: date
) -> list[Finding]:
    if cohort is None:
        return [
            unchecked(
                f"{node.party}: no node of this workdir holds the cohort's identifiers, so none "
                "were looked for"
            )
        ]
    if _whole(rule, parts, today):
        # The council held everyone its sources name; the others only those it shared.
        wanted = cohort.values if node.party == cohort.party else cohort.shared()
    elif node.cohort is not None and cohort.party == node.party and cohort.read_on >= node.today:
        return [
            unchecked(
                f"{node.party}: the identifiers of the persons whose records are gone went with "
                "them, so they cannot be looked for (a check in the same run as the destruction "
                "can be given the cohort read before it)"
            )
        ]
    elif node.cohort is not None:
        gone = cohort.values.join(
            node.cohort.values.select("person_key").unique(), on="person_key", how="anti"
        )
        wanted = not_held_by(gone, node.cohort.values)
    else:
        wanted = cohort.values
    persons = wanted["person_key"].n_unique()
    if persons == 0:
        return [unchecked(f"{node.party}: no person's records are gone yet to look for")]
    findings: list[Finding] = unreadable(node)
    for held in node.held.values():
        found = hits(held.values, wanted)
        if found.height:
            findings.append(
                broken(
                    f"{node.party}: '{held.dataset}' holds {found['value'].n_unique():,} value(s) of "
                    f"{_names(found['field'])} of persons whose records must be gone"
                )
            )
    if node.raw is None:
        findings.append(unchecked(f"{node.party}: files not scanned"))
    else:
        found = node.raw.of(wanted)
        if found.height:
            findings.append(
                broken(
                    f"{node.party}: {found['value'].n_unique():,} value(s) of {_names(found['field'])} "
                    f"of persons whose records must be gone, in {found['file'].n_unique()} file(s) "
                    f"under {_names(_folder(f) for f in found['file'])}"
                )
            )
        elif not any(f.broken for f in findings):
            findings.append(
                checked(
                    f"{node.party}: {_datasets_read(node)} and {node.raw.files} file(s) "
                    f"({node.raw.scanned_bytes:,} bytes in clear; {len(node.raw.sealed)} "
                    f"encrypted, not scanned) searched for {persons:,} persons' identifiers and "
                    "reference numbers: none found"
                )
            )
    return findings


def _folder(file: str) -> str:
    """The folder of a file in the node: where to look. Not the file's own name, which
    whoever left it there chose and could be anyone's."""
    parent = str(PurePath(file).parent)
    return "the node's top folder" if parent == "." else parent + "/"


def _datasets_read(node: NodeEvidence) -> str:
    return f"{len(node.held)} dataset(s) it holds read" if node.held else "it holds no dataset"


def _names(values: pl.Series | object) -> str:
    names = sorted({str(v) for v in values})  # type: ignore[attr-defined]
    shown = ", ".join(f"'{n}'" for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
