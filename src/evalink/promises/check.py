"""`check_promises`: every promise of the policy, with its state and the evidence read
from the nodes of a workdir on one day.

A promise gets `kept` only from a check that reads what the nodes hold or did and
would have found the promise broken. The promises no check here can show kept are
listed as `not checked in this run`, with the reason: saying nothing about them would
read as if they were kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from evalink.policy import Policy
from evalink.promises.cohort import Cohort
from evalink.promises.identifiers import (
    check_reference_numbers,
    check_research_datasets,
    check_separation,
    released_datasets,
)
from evalink.promises.intruders import check_intruders, intruder_ids
from evalink.promises.nodes import NodeEvidence, gather, node_dirs, policy_of
from evalink.promises.published import check_published, disclosure_parties
from evalink.promises.rawscan import scan_directory
from evalink.promises.report import Finding, PromiseCheck, verdict
from evalink.promises.retention import check_retention, retention_rules
from evalink.promises.transfers import check_linked_data, check_transfers

Check = Callable[[Policy, dict[str, NodeEvidence], Cohort | None], list[Finding]]

CHECKS: dict[str, Check] = {
    "only-agreed-transfers": lambda policy, nodes, cohort: check_transfers(policy, nodes),
    "no-linked-data-back-to-council": lambda policy, nodes, cohort: check_linked_data(
        policy, nodes
    ),
    "identifiers-kept-separately": check_separation,
    "unique-reference-number": check_reference_numbers,
    "anonymised-before-research": check_research_datasets,
}

# Why the other promises of the example policy are not checked: what a node holds or
# logs cannot show them kept.
NOT_CHECKABLE = {
    "no-decisions-about-individuals": (
        "a decision about a person is taken outside the nodes; nothing they hold or log "
        "can show that none was"
    ),
    "research-use-only": (
        "the nodes log each transfer's purpose (see only-agreed-transfers) but not what "
        "anyone does with the data afterwards"
    ),
    "kept-strictly-confidential": (
        "confidentiality is wider than what nodes record; the parts of it they do record "
        "are checked under identifiers-kept-separately and only-agreed-transfers"
    ),
}
NO_CHECK = "no check in evalink reads this promise from what the nodes hold or log"


def check_promises(
    workdir: Path | str, passphrase: str, *, today: date, cohort: Cohort | None = None
) -> list[PromiseCheck]:
    """Every promise of the workdir's policy on `today`, in the policy's order.

    `cohort`: the cohort's identifiers read earlier in the same run (`read_cohort`), for
    a check made after the council destroyed its own; otherwise they are read from the
    node that holds them now, if any does.
    """
    dirs = node_dirs(Path(workdir))
    policy = policy_of(dirs)
    released = {d for datasets in released_datasets(policy).values() for d in datasets}
    nodes = {
        party: gather(directory, passphrase, today, released=released)
        for party, directory in dirs.items()
    }
    # Given, the cohort read earlier in the run; else as the node that holds it now does.
    known = cohort or next((n.cohort for n in nodes.values() if n.cohort is not None), None)
    if known is not None:
        for node in nodes.values():
            # After every node is closed: scanning one node's files while another
            # check writes to them would scan a moving target.
            node.raw = scan_directory(node.dir, known.values)
    results = []
    for promise in policy.document.promises:
        rules = retention_rules(policy, promise.enforced_by)
        if rules:
            findings = check_retention(policy, rules, nodes, known, today)
        elif promise.id in CHECKS:
            findings = CHECKS[promise.id](policy, nodes, known)
        elif disclosure_parties(policy, promise.enforced_by):
            findings = check_published(
                {p: dirs[p] for p in disclosure_parties(policy, promise.enforced_by) if p in dirs},
                passphrase, today,
            )
        else:
            findings = [Finding(NOT_CHECKABLE.get(promise.id, NO_CHECK), checked=False)]
        intruders = intruder_ids(policy, promise.enforced_by)
        if intruders:
            findings += check_intruders(policy, nodes, intruders)
        results.append(verdict(promise.id, today, findings))
    return results
