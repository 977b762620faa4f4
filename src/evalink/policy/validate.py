"""Checks across the whole policy: references resolve, and the flows keep the promises.

Schema checks (types, unknown keys) are pydantic's; here are the checks a data
protection officer would make by reading the document end to end.
"""

from __future__ import annotations

from collections import Counter

from evalink.policy.spec import (
    Dataset,
    ExportRule,
    FieldClass,
    Flow,
    PolicyDocument,
    Promise,
    Safeguard,
    SafeguardKind,
)
from evalink.yamlfile import Problem

# Rules that exist without being written down: every policy denies what it does not allow.
BUILT_IN_RULES = ("default-deny",)
# The sections whose items are rules a promise may name (one namespace of ids).
RULE_SECTIONS = ("flows", "exports", "retention", "disclosure", "intruders", "safeguards")


def rule_ids(doc: PolicyDocument) -> set[str]:
    """Everything a promise may name as the rule that keeps it."""
    ids = set(BUILT_IN_RULES)
    for section in RULE_SECTIONS:
        ids.update(item.id for item in getattr(doc, section))
    return ids


def promises_kept_by(doc: PolicyDocument, rule_id: str) -> list[Promise]:
    """The promises that name `rule_id` among the rules keeping them."""
    return [p for p in doc.promises if rule_id in p.enforced_by]


def check_document(doc: PolicyDocument) -> list[Problem]:
    problems = _duplicate_ids(doc)
    problems += _references(doc)
    if not problems:
        # Only meaningful once every reference resolves.
        problems += _lawful_conditions(doc)
        problems += _safeguards_hold(doc)
    return problems


def _duplicate_ids(doc: PolicyDocument) -> list[Problem]:
    problems = []
    for name in ("parties", "datasets", "purposes", "promises"):
        problems += _duplicates_in(name, [item.id for item in getattr(doc, name)])
    # Rules share one namespace because promises name them by id alone.
    rules = [
        (section, i, item.id)
        for section in RULE_SECTIONS
        for i, item in enumerate(getattr(doc, section))
    ]
    counts = Counter(rule_id for _, _, rule_id in rules)
    for section, i, rule_id in rules:
        if counts[rule_id] > 1 or rule_id in BUILT_IN_RULES:
            problems.append(Problem(f"{section}[{i}].id", f"rule id '{rule_id}' is not unique"))
    for i, dataset in enumerate(doc.datasets):
        problems += _duplicates_in(f"datasets[{i}].fields", dataset.field_names(), key="name")
    return problems


def _duplicates_in(path: str, ids: list[str], key: str = "id") -> list[Problem]:
    counts = Counter(ids)
    return [
        Problem(f"{path}[{i}].{key}", f"'{value}' is defined more than once")
        for i, value in enumerate(ids)
        if counts[value] > 1
    ]


def _references(doc: PolicyDocument) -> list[Problem]:
    parties = {p.id for p in doc.parties}
    datasets = {d.id: d for d in doc.datasets}
    purposes = {p.id for p in doc.purposes}
    rules = rule_ids(doc)
    problems: list[Problem] = []

    def need(path: str, value: str, known: set[str] | dict, what: str) -> bool:
        if value in known:
            return True
        problems.append(Problem(path, f"unknown {what} '{value}'"))
        return False

    for i, flow in enumerate(doc.flows):
        need(f"flows[{i}].from", flow.from_, parties, "party")
        need(f"flows[{i}].to", flow.to, parties, "party")
        need(f"flows[{i}].purpose", flow.purpose, purposes, "purpose")
        if flow.from_ == flow.to:
            problems.append(Problem(f"flows[{i}].to", "a flow must go to another party"))
        if need(f"flows[{i}].dataset", flow.dataset, datasets, "dataset"):
            known_fields = set(datasets[flow.dataset].field_names())
            for j, name in enumerate(flow.fields):
                if name not in known_fields:
                    problems.append(
                        Problem(
                            f"flows[{i}].fields[{j}]",
                            f"'{name}' is not a field of dataset '{flow.dataset}'",
                        )
                    )
    for i, export in enumerate(doc.exports):
        need(f"exports[{i}].party", export.party, parties, "party")
        need(f"exports[{i}].purpose", export.purpose, purposes, "purpose")
        for j, dataset in enumerate(export.datasets):
            need(f"exports[{i}].datasets[{j}]", dataset, datasets, "dataset")
    for i, rule in enumerate(doc.retention):
        for j, party in enumerate(rule.parties):
            need(f"retention[{i}].parties[{j}]", party, parties, "party")
        for j, dataset in enumerate(rule.datasets):
            if dataset != "*":
                need(f"retention[{i}].datasets[{j}]", dataset, datasets, "dataset")
        if rule.destroy_by is None and rule.keep_for is None:
            problems.append(Problem(f"retention[{i}]", "give 'destroy_by' or 'keep_for' (or both)"))
        if (rule.keep_for is None) != (rule.after is None):
            problems.append(Problem(f"retention[{i}]", "'keep_for' and 'after' go together"))
    for i, rules_ in enumerate(doc.disclosure):
        for j, party in enumerate(rules_.applies_to):
            need(f"disclosure[{i}].applies_to[{j}]", party, parties, "party")
    for i, safeguard in enumerate(doc.safeguards):
        for j, party in enumerate(safeguard.to):
            need(f"safeguards[{i}].to[{j}]", party, parties, "party")
        for j, dataset in enumerate(safeguard.datasets):
            need(f"safeguards[{i}].datasets[{j}]", dataset, datasets, "dataset")
        for j, purpose in enumerate(safeguard.purposes):
            need(f"safeguards[{i}].purposes[{j}]", purpose, purposes, "purpose")
        for j, party in enumerate(safeguard.parties):
            need(f"safeguards[{i}].parties[{j}]", party, parties, "party")
        if safeguard.kind == SafeguardKind.NO_EXPORT and not safeguard.field_classes:
            problems.append(
                Problem(
                    f"safeguards[{i}].field_classes", "a no_export safeguard needs field_classes"
                )
            )
        if safeguard.kind == SafeguardKind.K_ANONYMITY and safeguard.k is None:
            problems.append(Problem(f"safeguards[{i}].k", "a k_anonymity safeguard needs k"))
    for i, intruder in enumerate(doc.intruders):
        need(f"intruders[{i}].dataset", intruder.dataset, datasets, "dataset")
        problems += _intruder_columns(doc, i)
    for i, promise in enumerate(doc.promises):
        for j, rule in enumerate(promise.enforced_by):
            need(f"promises[{i}].enforced_by[{j}]", rule, rules, "rule")
    return problems


def _intruder_columns(doc: PolicyDocument, i: int) -> list[Problem]:
    """What an intruder knows is named as columns of its dataset: a name the dataset
    lacks would make the attack test less than the policy says."""
    intruder = doc.intruders[i]
    dataset = next((d for d in doc.datasets if d.id == intruder.dataset), None)
    if dataset is None:
        return []
    fields = set(dataset.field_names())
    named = [(f"intruders[{i}].knows[{j}]", n) for j, n in enumerate(intruder.knows)]
    if intruder.events is not None:
        named += [(f"intruders[{i}].events.where", n) for n in intruder.events.where]
        named += [(f"intruders[{i}].events.knows[{j}]", n) for j, n in enumerate(intruder.events.knows)]
    return [
        Problem(path, f"'{name}' is not a field of dataset '{intruder.dataset}'")
        for path, name in named
        if name not in fields
    ]


def _lawful_conditions(doc: PolicyDocument) -> list[Problem]:
    """Art 9 and Art 10 data need a condition beyond the Art 6 basis."""
    datasets = {d.id: d for d in doc.datasets}
    problems = []
    for i, flow in enumerate(doc.flows):
        classes = {f.class_ for f in datasets[flow.dataset].fields if f.name in flow.fields}
        problems += _missing_conditions(f"flows[{i}]", "carries", classes, flow)
    for i, export in enumerate(doc.exports):
        # An export rule allows classes, not named fields: it needs the condition of each
        # special class it allows, whatever its datasets hold today.
        problems += _missing_conditions(
            f"exports[{i}]", "allows", set(export.field_classes), export
        )
    return problems


def _missing_conditions(
    path: str, verb: str, classes: set[FieldClass], rule: Flow | ExportRule
) -> list[Problem]:
    problems = []
    if FieldClass.SPECIAL_CATEGORY in classes and not rule.special_category_condition:
        problems.append(
            Problem(
                path,
                f"{verb} special category data (Art 9) but states no special_category_condition",
            )
        )
    if FieldClass.CRIMINAL_OFFENCE in classes and not rule.criminal_offence_condition:
        problems.append(
            Problem(
                path,
                f"{verb} criminal offence data (Art 10) but states no criminal_offence_condition",
            )
        )
    return problems


def _safeguards_hold(doc: PolicyDocument) -> list[Problem]:
    """A flow that breaks a safeguard breaks the promise the safeguard keeps."""
    datasets = {d.id: d for d in doc.datasets}
    parties = {p.id: p for p in doc.parties}
    problems = []
    for i, flow in enumerate(doc.flows):
        dataset = datasets[flow.dataset]
        for safeguard in doc.safeguards:
            broken = safeguard_breach(safeguard, flow, dataset, parties[flow.to].holds_identifiers)
            if broken:
                problems.append(
                    Problem(
                        f"flows[{i}]",
                        f"{broken} (safeguard '{safeguard.id}'{_breaking(doc, safeguard)})",
                    )
                )
    for i, export in enumerate(doc.exports):
        for safeguard in doc.safeguards:
            broken = export_breach(safeguard, export)
            if broken:
                problems.append(
                    Problem(
                        f"exports[{i}]",
                        f"{broken} (safeguard '{safeguard.id}'{_breaking(doc, safeguard)})",
                    )
                )
    for i, promise in enumerate(doc.promises):
        if not promise.enforced_by:
            problems.append(Problem(f"promises[{i}]", "a promise must name the rules that keep it"))
    return problems


def _breaking(doc: PolicyDocument, safeguard: Safeguard) -> str:
    kept = promises_kept_by(doc, safeguard.id)
    word = "promise" if len(kept) == 1 else "promises"
    return f", breaking {word} " + ", ".join(f"'{p.id}'" for p in kept) if kept else ""


def export_breach(safeguard: Safeguard, export: ExportRule) -> str | None:
    """Why export rule `export` breaks `safeguard`, or None.

    An export rule allows classes of field rather than named fields, so it is judged by
    the classes it allows: a rule that could let a direct identifier out breaks a
    no_export safeguard on direct identifiers even if its datasets hold none today.
    """
    if safeguard.kind == SafeguardKind.PURPOSE_LIMIT and export.purpose not in safeguard.purposes:
        return f"purpose '{export.purpose}' is not one of {', '.join(safeguard.purposes)}"
    if safeguard.governs_export_from(export.party):
        banned = [c.value for c in export.field_classes if c in safeguard.field_classes]
        if banned:
            return f"lets '{export.party}' export {', '.join(banned)} fields"
    return None


def safeguard_breach(
    safeguard: Safeguard, flow: Flow, dataset: Dataset, recipient_holds_identifiers: bool
) -> str | None:
    """Why `flow` breaks `safeguard`, or None. Shared by the loader and `check_flow`."""
    kind = safeguard.kind
    matches_dataset = flow.dataset in safeguard.datasets or (
        safeguard.linked_datasets and dataset.linked
    )
    if kind == SafeguardKind.NEVER_SEND and flow.to in safeguard.to and matches_dataset:
        linked = "linked " if dataset.linked else ""
        return f"sends {linked}dataset '{flow.dataset}' to '{flow.to}'"
    if kind == SafeguardKind.PURPOSE_LIMIT and flow.purpose not in safeguard.purposes:
        return f"purpose '{flow.purpose}' is not one of {', '.join(safeguard.purposes)}"
    if kind == SafeguardKind.NO_FIELD_CLASSES and flow.to in safeguard.to:
        classes = {f.name: f.class_ for f in dataset.fields}
        banned = [name for name in flow.fields if classes[name] in safeguard.field_classes]
        if banned:
            return f"sends {', '.join(banned)} to '{flow.to}'"
    if kind == SafeguardKind.IDENTIFIERS_IN_VAULT:
        carries_identifiers = any(
            f.class_ == FieldClass.DIRECT_IDENTIFIER
            for f in dataset.fields
            if f.name in flow.fields
        )
        if carries_identifiers and not (dataset.vault and recipient_holds_identifiers):
            return (
                f"sends direct identifiers in dataset '{flow.dataset}' to '{flow.to}' "
                "without a separate identifier vault"
            )
    return None
