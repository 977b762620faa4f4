"""Transfer promises, from the audit logs: was every transfer one the policy agreed?

Every `send` and `receive` entry of every node's log is matched to a flow of the policy
by this module's own reading of the policy file — not by `Policy.check_flow`, the code
whose work is being checked: from, to, dataset, fields within the flow's fields, and
the flow's purpose among those the policy's purpose limits allow. Each receive is
matched to its send in the sender's log (same package, recipient, dataset, fields, rows
and content hash), every package file in an outbox to a send, and every receipt in an
inbox to a receive. Each `export` (a file out of the governed system) is matched to an
export rule. A log that does not verify cannot be evidence, and says so.
"""

from __future__ import annotations

from typing import Any

from evalink.policy import FieldClass, Flow, Policy, SafeguardKind
from evalink.promises.nodes import NodeEvidence
from evalink.promises.report import Finding, broken, checked, unchecked


def check_transfers(policy: Policy, nodes: dict[str, NodeEvidence]) -> list[Finding]:
    flows = {f.id: f for f in policy.document.flows}
    purposes = _allowed_purposes(policy)
    sends = {
        str(e["details"].get("package")): (party, e["details"])
        for party, node in nodes.items()
        for e in node.entries("send")
    }
    findings: list[Finding] = []
    counts = {"send": 0, "receive": 0, "export": 0, "refused": 0}
    unmatched_senders: set[str] = set()
    for party, node in nodes.items():
        if not node.audit_ok:
            findings.append(broken(f"{party}: audit log does not verify ({node.audit_problem})"))
        counts["refused"] += len(node.entries("refused"))
        for entry in node.entries("send"):
            counts["send"] += 1
            d = entry["details"]
            problem = _flow_problem(flows, purposes, d.get("flow"), party, d.get("to"), d)
            if problem:
                findings.append(
                    broken(f"{party} sent package {_short(d.get('package'))}: {problem}")
                )
        for entry in node.entries("receive"):
            counts["receive"] += 1
            d = entry["details"]
            sender = str(d.get("sender"))
            problem = _flow_problem(flows, purposes, d.get("flow"), sender, party, d)
            if problem:
                findings.append(
                    broken(f"{party} received package {_short(d.get('package'))}: {problem}")
                )
            if sender not in nodes:
                unmatched_senders.add(sender)
                continue
            sent = sends.get(str(d.get("package")))
            mismatch = _receipt_mismatch(sent, sender, party, d)
            if mismatch:
                findings.append(
                    broken(
                        f"{party} received package {_short(d.get('package'))} from {sender}: {mismatch}"
                    )
                )
        for entry in node.entries("export"):
            counts["export"] += 1
            problem = _export_problem(policy, party, entry["details"])
            if problem:
                findings.append(
                    broken(f"{party} exported '{entry['details'].get('dataset')}': {problem}")
                )
        findings += _unlogged_files(party, node)
    if unmatched_senders:
        findings.append(
            unchecked(
                f"receipts from {', '.join(sorted(unmatched_senders))} not matched to their sends: "
                "no node of that party in this workdir"
            )
        )
    transfers = counts["send"] + counts["receive"] + counts["export"]
    if transfers == 0:
        findings.append(unchecked("no transfer in any node's audit log yet"))
    elif not any(f.broken for f in findings):
        findings.append(
            checked(
                f"{counts['send']} sends and {counts['receive']} receives in {len(nodes)} audit logs, "
                "each matched to a flow of the policy (parties, dataset, fields, purpose) and each "
                f"receive to its send; {counts['export']} exports matched to export rules; "
                f"{counts['refused']} attempts refused; every outbox package and inbox receipt "
                f"logged; audit logs verify at {', '.join(nodes)}"
            )
        )
    return findings


def _allowed_purposes(policy: Policy) -> set[str] | None:
    limits = policy.safeguards(SafeguardKind.PURPOSE_LIMIT)
    if not limits:
        return None
    return set.intersection(*(set(s.purposes) for s in limits))


def _flow_problem(
    flows: dict[str, Flow],
    purposes: set[str] | None,
    flow_id: Any,
    sender: Any,
    recipient: Any,
    details: dict[str, Any],
) -> str | None:
    flow = flows.get(str(flow_id))
    if flow is None:
        return f"no flow '{flow_id}' in the policy"
    if (flow.from_, flow.to, flow.dataset) != (sender, recipient, details.get("dataset")):
        return (
            f"flow '{flow.id}' is {flow.from_}→{flow.to} ({flow.dataset}), not "
            f"{sender}→{recipient} ({details.get('dataset')})"
        )
    extra = sorted(set(details.get("fields") or []) - set(flow.fields))
    if extra:
        return f"field(s) {', '.join(extra)} outside flow '{flow.id}'"
    if not details.get("fields"):
        return "the log does not name the fields sent"
    if purposes is not None and flow.purpose not in purposes:
        return f"purpose '{flow.purpose}' of flow '{flow.id}' is not one the policy allows"
    return None


def _receipt_mismatch(
    sent: tuple[str, dict[str, Any]] | None, sender: str, recipient: str, received: dict[str, Any]
) -> str | None:
    if sent is None or sent[0] != sender:
        return "no such send in the sender's log"
    details = sent[1]
    if details.get("to") != recipient:
        return f"the sender's log addressed it to {details.get('to')}"
    for key in ("dataset", "fields", "rows", "sha256"):
        if details.get(key) != received.get(key):
            return f"its {key} differs from what the sender's log records"
    return None


def _export_problem(policy: Policy, party: str, details: dict[str, Any]) -> str | None:
    rule = next((r for r in policy.document.exports if r.id == details.get("rule")), None)
    if rule is None:
        return "matches no export rule of the policy"
    dataset = str(details.get("dataset"))
    if rule.party != party or dataset not in rule.datasets:
        return f"export rule '{rule.id}' does not cover {party}'s '{dataset}'"
    if details.get("purpose") != rule.purpose:
        return f"purpose '{details.get('purpose')}' is not rule '{rule.id}''s"
    classes = _field_classes(policy, dataset)
    fields = [str(f) for f in details.get("fields") or []]
    if not fields:
        return "the log does not name the fields exported"
    outside = sorted(f for f in fields if classes.get(f) not in rule.field_classes)
    banned = {
        c
        for s in policy.safeguards(SafeguardKind.NO_EXPORT)
        if s.governs_export_from(party)
        for c in s.field_classes
    }
    barred = sorted(f for f in fields if classes.get(f) in banned)
    if barred or outside:
        return f"field(s) {', '.join(barred or outside)} of a class the policy does not let out"
    return None


def _field_classes(policy: Policy, dataset: str) -> dict[str, FieldClass]:
    declared = next((d for d in policy.document.datasets if d.id == dataset), None)
    return {f.name: f.class_ for f in declared.fields} if declared else {}


def _unlogged_files(party: str, node: NodeEvidence) -> list[Finding]:
    """A package file the log never mentions was made outside the node's code."""
    sent = {str(e["details"].get("package")) for e in node.entries("send")}
    received = {str(e["details"].get("package")) for e in node.entries("receive")}
    received |= {str(e["details"].get("finished_import")) for e in node.entries("recover")}
    findings = []
    strays = sorted(f for f, package in node.outbox_packages.items() if package not in sent)
    if strays:
        findings.append(
            broken(f"{party}: {len(strays)} package file(s) in the outbox with no send in its log")
        )
    unknown = sorted(f for f, package in node.receipts.items() if package not in received)
    if unknown:
        findings.append(broken(f"{party}: {len(unknown)} receipt(s) with no receive in its log"))
    return findings


def check_linked_data(policy: Policy, nodes: dict[str, NodeEvidence]) -> list[Finding]:
    """No linked dataset at the parties a never-send safeguard protects (the council and
    the other agencies), unless the party made it itself (a department's own outcomes)."""
    findings: list[Finding] = []
    guards = [s for s in policy.safeguards(SafeguardKind.NEVER_SEND)]
    linked = {d.id for d in policy.document.datasets if d.linked}
    for guard in guards:
        barred = (linked if guard.linked_datasets else set()) | set(guard.datasets)
        for party in guard.to:
            node = nodes.get(party)
            if node is None:
                findings.append(unchecked(f"{party}: no node in this workdir"))
                continue
            own = {f.dataset for f in policy.flows_from(party)}
            held = sorted(d for d in {p.dataset for p in node.parts} if d in barred - own)
            if held:
                findings.append(broken(f"{party} holds linked dataset(s) {', '.join(held)}"))
            got = sorted(
                {str(e["details"].get("dataset")) for e in node.entries("receive")} & barred
            )
            if got:
                findings.append(broken(f"{party} received linked dataset(s) {', '.join(got)}"))
            if not node.audit_ok:
                findings.append(
                    unchecked(
                        f"{party}: its audit log does not verify, so what it "
                        "received cannot be read from it"
                    )
                )
            sent_to = sorted(
                {
                    f"{sender}→{party} ({e['details'].get('dataset')})"
                    for sender, other in nodes.items()
                    for e in other.entries("send")
                    if e["details"].get("to") == party and e["details"].get("dataset") in barred
                }
            )
            if sent_to:
                findings.append(broken(f"linked data sent: {', '.join(sent_to)}"))
        if not any(f.broken for f in findings):
            present = [p for p in guard.to if p in nodes]
            findings.append(
                checked(
                    f"{', '.join(present)} hold no linked dataset but their own outcomes, and "
                    "no log shows one sent to them or received by them"
                )
            )
    if not guards:
        findings.append(unchecked("the policy has no never-send safeguard to check"))
    return findings


def _short(package: Any) -> str:
    return str(package)[:12] + "…"
