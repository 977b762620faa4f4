"""Promises a motivated intruder tests: what the attack found on the research dataset
researchers hold, as it travelled with the dataset from the linker (which alone can
check a match against the truth), and what the research node found again on receipt.

An intruder the policy enforces and whose attack succeeds more often than the policy
accepts breaks the promise; one it measures without enforcing leaves the promise NOT
KEPT, with the figures, every time it is checked.
"""

from __future__ import annotations

from evalink.policy import Policy
from evalink.promises.identifiers import released_datasets
from evalink.promises.nodes import NodeEvidence
from evalink.promises.report import Finding, broken, checked, not_kept, unchecked


def intruder_ids(policy: Policy, rules: list[str]) -> list[str]:
    known = {i.id for i in policy.document.intruders}
    return [r for r in rules if r in known]


def check_intruders(policy: Policy, nodes: dict[str, NodeEvidence], ids: list[str]) -> list[Finding]:
    intruders = {i.id: i for i in policy.document.intruders if i.id in ids}
    findings: list[Finding] = []
    for party, datasets in released_datasets(policy).items():
        node = nodes.get(party)
        held = [node.held[d] for d in sorted(datasets) if node and d in node.held]
        for dataset in held:
            wanted = [i for i in intruders.values() if i.dataset == dataset.dataset]
            if not wanted:
                continue
            report = dataset.notes.get("deidentification")
            if not isinstance(report, dict):
                findings.append(
                    broken(f"{party}: '{dataset.dataset}' holds no motivated-intruder result")
                )
                continue
            results = {r.get("intruder"): r for r in report.get("intruders", [])}
            for intruder in wanted:
                result = results.get(intruder.id)
                if result is None:
                    findings.append(
                        broken(f"{party}: '{dataset.dataset}' was not tested against '{intruder.id}'")
                    )
                    continue
                share = float(result["share"])
                text = (
                    f"{party}: intruder '{intruder.id}' re-identifies {result['reidentified']:,} of "
                    f"{result['units']:,} {intruder.units_word} in '{dataset.dataset}' "
                    f"({share:.2%}; the policy accepts {intruder.max_reidentified:.2%})"
                )
                if share <= intruder.max_reidentified:
                    findings.append(checked(text))
                elif intruder.enforced:
                    findings.append(broken(text))
                else:
                    findings.append(not_kept(text + ", measured and not enforced"))
    if not findings:
        findings.append(unchecked("no research node holds a dataset these intruders test yet"))
    return findings

