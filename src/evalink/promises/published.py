"""The promise that no one can be identified from published reports, read from what the
public node holds now: every part it holds is run through the public node's receipt
check again (`evalink.release.check_publication`) — the bytes are those two trusted
reviewers, neither the author, signed; each file's automatic checks passed; every
published table, scanned again with the policy's disclosure rules, shows no cell that
breaks them. A part that did not come out of the airlock, or a table edited since,
breaks the promise.

Nothing published yet is said so, not passed off as kept.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from evalink.errors import EvalinkError, PolicyViolation
from evalink.policy import Policy
from evalink.promises.nodes import open_to_look
from evalink.promises.report import Finding, broken, checked, unchecked


def disclosure_parties(policy: Policy, rules: list[str]) -> list[str]:
    """The parties the disclosure rules among `rules` apply to (the public)."""
    return sorted({p for d in policy.document.disclosure if d.id in rules for p in d.applies_to})


def published_problems(directory: Path, passphrase: str, today: date) -> tuple[int, list[str]]:
    """(files held, problems): the public node's receipt check run on each part it holds.
    Problems name parts, files and rules — never a cell's value."""
    from evalink.release import check_publication

    files, problems = 0, []
    with open_to_look(directory, passphrase, today) as node:
        for part in node.parts():
            try:
                table = node.read_part(part, purpose="promise check")
                files += table.num_rows
                check_publication(node, part.dataset, node.part_notes(part.part_id), table)
            except PolicyViolation as refusal:
                problems.append(f"part {part.part_id} of '{part.dataset}': {refusal}")
            except EvalinkError as error:
                problems.append(
                    f"part {part.part_id} of '{part.dataset}' could not be checked "
                    f"({type(error).__name__})"
                )
    return files, problems


def check_published(
    parties: dict[str, Path], passphrase: str, today: date
) -> list[Finding]:
    """`parties`: the nodes of the parties the policy's disclosure rules apply to."""
    findings: list[Finding] = []
    for party, directory in sorted(parties.items()):
        files, problems = published_problems(directory, passphrase, today)
        if problems:
            findings.extend(broken(f"{party}: {p}") for p in problems)
        elif files:
            findings.append(
                checked(
                    f"{party}: every one of {files:,} published files came through the "
                    "airlock (two reviewers, neither the author, signed its SHA-256) and "
                    "every published table passes the disclosure rules when scanned again"
                )
            )
        else:
            findings.append(unchecked(f"{party}: nothing published yet"))
    if not findings:
        findings.append(unchecked("no node of a party the disclosure rules apply to"))
    return findings
