"""Documents generated from the policy: the privacy notice, the Record of Processing
Activities (UK GDPR Art 30) and plain-language explanations of flows.

Everything a family reads is rendered from the same objects evalink enforces, so the
published notice and the rules in force cannot drift apart.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from jinja2 import Environment, PackageLoader, StrictUndefined

from evalink.errors import InputError, PolicyViolation
from evalink.policy.enforce import Policy
from evalink.policy.measures import (
    NOT_YET_ENFORCED,
    RULE_KINDS,
    is_enforced,
    security_measures,
    stated_not_enforced,
)
from evalink.policy.spec import (
    Contact,
    Dataset,
    ExportRule,
    FieldClass,
    Flow,
    Party,
    RetentionRule,
)

NOTICE_FORMATS = ("md", "html")
ROPA_FORMATS = ("md", "csv")

_EVENT_WORDS = {
    "receipt": "after they receive it",
    "case_closed": "after the service to the family ends",
    "identified": "after the family was identified, if the programme never worked with the family",
    "project_end": "after the project ends",
}

_CLASS_WORDS = {
    FieldClass.DIRECT_IDENTIFIER: "identifiers",
    FieldClass.QUASI_IDENTIFIER: "indirect identifiers",
    FieldClass.SPECIAL_CATEGORY: "special category data (Art 9)",
    FieldClass.CRIMINAL_OFFENCE: "criminal offence data (Art 10)",
    FieldClass.ATTRIBUTE: "other information",
}


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("evalink.policy", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def long_date(value: date) -> str:
    """31 December 2022: how the notice writes dates."""
    return f"{value.day} {value:%B %Y}"


def retention_sentence(policy: Policy, rule: RetentionRule) -> str:
    """One rule as the notice says it, e.g. 'DWP, MoJ and DfE will securely destroy ...'."""
    names = _join([_short_name(policy, p) for p in rule.parties])
    what = (
        "all information they hold for this research"
        if "*" in rule.datasets
        else _join([policy.dataset(d).description.rstrip(".").lower() for d in rule.datasets])
    )
    when = []
    if rule.keep_for is not None and rule.after is not None:
        when.append(f"{rule.keep_for} {_EVENT_WORDS[rule.after.value]}")
    if rule.destroy_by is not None:
        when.append(f"by {long_date(rule.destroy_by)}")
    verb = "will securely destroy" if len(rule.parties) == 1 else "will each securely destroy"
    return f"{names} {verb} {what} {' and at the latest '.join(when)}."


def personal_information_words(dataset: Dataset) -> list[str]:
    """The identifiers of a dataset in plain words ('date of birth', not 'dob')."""
    words = []
    for item in dataset.fields:
        if item.class_ in (FieldClass.DIRECT_IDENTIFIER, FieldClass.QUASI_IDENTIFIER):
            words.append(item.description or item.name.replace("_", " "))
    return words


@dataclass
class _LegalBases:
    lawful_bases: list[str] = field(default_factory=list)
    special_category_conditions: list[str] = field(default_factory=list)
    criminal_offence_conditions: list[str] = field(default_factory=list)
    legal_gateways: list[str] = field(default_factory=list)


def legal_bases(flows: list[Flow]) -> _LegalBases:
    bases = _LegalBases()
    for flow in flows:
        for attribute, value in (
            ("lawful_bases", flow.lawful_basis),
            ("special_category_conditions", flow.special_category_condition),
            ("criminal_offence_conditions", flow.criminal_offence_condition),
            ("legal_gateways", flow.legal_gateway),
        ):
            items = getattr(bases, attribute)
            if value and value not in items:
                items.append(value)
    return bases


def _notice_context(policy: Policy) -> dict:
    doc = policy.document
    vault_datasets = [d for d in doc.datasets if d.vault]
    return {
        "policy": doc.policy,
        "notice": doc.notice,
        "parties": doc.parties,
        "department_lines": [
            f"{p.name} – {p.description}" if p.description else p.name
            for p in doc.parties
            if p.department
        ],
        "personal_information": _join(
            [w for d in vault_datasets for w in personal_information_words(d)]
        ),
        "flows": [(f, policy.party(f.from_), policy.party(f.to)) for f in doc.flows],
        # Each export rule is a way out of the governed system: the notice says who may
        # read what out into a file, and where it goes.
        "export_lines": [f"{policy.party(e.party).name}: {e.description}" for e in doc.exports],
        "purposes": doc.purposes,
        "retention": [(r, retention_sentence(policy, r)) for r in doc.retention],
        "legal": legal_bases(doc.flows),
        # A promise names only the rules evalink enforces: a rule stated but not yet
        # enforced (disclosure control) is not offered to families as keeping it.
        "promises": [
            (p, [r for r in p.enforced_by if is_enforced(policy, r)]) for p in doc.promises
        ],
        "disclosure": doc.disclosure if RULE_KINDS["disclosure"].enforced else [],
        "security_measures": security_measures(policy),
        "contacts": [
            (p, [_contact_text(c) for c in p.contacts] + ([_contact_text(p.dpo)] if p.dpo else []))
            for p in doc.parties
            if p.contacts or p.dpo
        ],
        "complaints": doc.complaints,
        "complaint_lines": [
            line
            for line in (
                f"In writing: {doc.complaints.address}" if doc.complaints.address else None,
                f"Online: {doc.complaints.url}" if doc.complaints.url else None,
                f"Email: {doc.complaints.email}" if doc.complaints.email else None,
                f"Phone: {doc.complaints.phone}" if doc.complaints.phone else None,
            )
            if line
        ],
        "long_date": long_date,
        "number": lambda x: f"{x:g}",
    }


def render_notice(policy: Policy, format: str = "md") -> str:
    """The privacy notice (UK GDPR Art 14 style) as Markdown or HTML."""
    if format not in NOTICE_FORMATS:
        raise InputError(f"--format: '{format}' is not one of {', '.join(NOTICE_FORMATS)}")
    template = _environment(format == "html").get_template("notice.j2")
    return template.render(format=format, **_notice_context(policy))


ROPA_COLUMNS = (
    "processing activity",
    "controller and contact details",
    "data protection officer",
    "purposes of the processing",
    "lawful basis",
    "categories of data subjects",
    "categories of personal data",
    "categories of recipients",
    "transfers to third countries",
    "time limits for erasure",
    "technical and organisational security measures",
)


def ropa_rows(policy: Policy) -> list[dict[str, str]]:
    """One row per flow, with the columns UK GDPR Art 30(1)(a)–(g) asks for."""
    doc = policy.document
    measures_text = _measures_text(policy)
    rows = []
    for flow in doc.flows:
        sender, recipient = policy.party(flow.from_), policy.party(flow.to)
        dataset = policy.dataset(flow.dataset)
        purpose = next(p for p in doc.purposes if p.id == flow.purpose)
        classes: dict[str, list[str]] = {}
        for item in dataset.fields:
            if item.name in flow.fields:
                classes.setdefault(_CLASS_WORDS[item.class_], []).append(item.name)
        erasure = [
            retention_sentence(policy, r)
            for r in doc.retention
            if r.covers(recipient.id, dataset.id) or r.covers(sender.id, dataset.id)
        ]
        rows.append(
            {
                "processing activity": f"{flow.id}: {flow.description or dataset.description}",
                "controller and contact details": _party_contact(sender),
                "data protection officer": _contact_text(sender.dpo) if sender.dpo else "",
                "purposes of the processing": purpose.description,
                "lawful basis": "; ".join([*_bases(flow), f"gateway: {flow.legal_gateway}"]),
                "categories of data subjects": "; ".join(dataset.subjects),
                "categories of personal data": _categories(classes),
                "categories of recipients": recipient.name,
                "transfers to third countries": doc.policy.international_transfers,
                "time limits for erasure": " ".join(erasure) or "not set by this policy",
                "technical and organisational security measures": measures_text,
            }
        )
    rows += [_export_row(policy, export) for export in doc.exports]
    return rows


def _export_row(policy: Policy, export: ExportRule) -> dict[str, str]:
    """An export rule as a processing activity: the party reads its own data out into a
    file, so it is both controller and recipient, and the file keeps no retention date."""
    doc = policy.document
    party = policy.party(export.party)
    datasets = [policy.dataset(d) for d in export.datasets]
    purpose = next(p for p in doc.purposes if p.id == export.purpose)
    # dict keys, not lists: two datasets of one rule may share field names.
    named: dict[str, dict[str, None]] = {}
    for dataset in datasets:
        for item in dataset.fields:
            if item.class_ in export.field_classes:
                named.setdefault(_CLASS_WORDS[item.class_], {})[item.name] = None
    classes = {kind: list(names) for kind, names in named.items()}
    erasure = [
        retention_sentence(policy, r)
        for r in doc.retention
        if any(r.covers(party.id, d.id) for d in datasets)
    ]
    return {
        "processing activity": f"{export.id} (export to a file): {export.description}",
        "controller and contact details": _party_contact(party),
        "data protection officer": _contact_text(party.dpo) if party.dpo else "",
        "purposes of the processing": purpose.description,
        "lawful basis": "; ".join(_bases(export)),
        "categories of data subjects": "; ".join(
            dict.fromkeys(s for d in datasets for s in d.subjects)
        ),
        "categories of personal data": _categories(classes),
        "categories of recipients": f"{party.name} (its own staff, outside evalink)",
        "transfers to third countries": doc.policy.international_transfers,
        "time limits for erasure": (
            "The exported file is outside evalink; the node's copy: " + " ".join(erasure)
            if erasure
            else "not set by this policy"
        ),
        "technical and organisational security measures": _measures_text(policy),
    }


def _measures_text(policy: Policy) -> str:
    """The measures evalink enforces, then those the policy states that it does not enforce
    yet, marked so: a ROPA records what is stated, but must not pass it off as applied."""
    text = " ".join(security_measures(policy))
    unenforced = stated_not_enforced(policy)
    if unenforced:
        text += f" {NOT_YET_ENFORCED[0].upper()}{NOT_YET_ENFORCED[1:]}: " + " ".join(
            f"{sentence} (rule '{rule_id}')" for rule_id, sentence in unenforced
        )
    return text


def _bases(rule: Flow | ExportRule) -> list[str]:
    conditions = (rule.special_category_condition, rule.criminal_offence_condition)
    return [rule.lawful_basis, *(c for c in conditions if c)]


def _categories(classes: dict[str, list[str]]) -> str:
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in classes.items())


def render_ropa(policy: Policy, format: str = "md") -> str:
    """The Record of Processing Activities as Markdown or CSV."""
    if format not in ROPA_FORMATS:
        raise InputError(f"--format: '{format}' is not one of {', '.join(ROPA_FORMATS)}")
    rows = ropa_rows(policy)
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROPA_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    template = _environment(False).get_template("ropa.md.j2")
    return template.render(
        policy=policy.document.policy,
        columns=ROPA_COLUMNS,
        rows=rows,
        not_enforced=stated_not_enforced(policy),
        not_enforced_heading=NOT_YET_ENFORCED,
    )


@dataclass
class FlowExplanation:
    allowed: bool
    lines: list[str]


def explain_flow(policy: Policy, sender: str, recipient: str, dataset: str) -> FlowExplanation:
    """Whether `sender` may send `dataset` to `recipient`, which fields, under what basis."""
    flows = [
        f
        for f in policy.document.flows
        if f.from_ == sender and f.to == recipient and f.dataset == dataset
    ]
    if not flows:
        try:
            fields = policy.dataset(dataset).field_names()
            policy.check_flow(sender, recipient, dataset, fields)
        except PolicyViolation as refusal:
            return FlowExplanation(False, [f"not allowed: {refusal}"])
    lines = []
    for flow in flows:
        lines += [
            f"allowed by flow '{flow.id}': {sender} → {recipient}, dataset '{dataset}'",
            f"fields: {', '.join(flow.fields)}",
            f"purpose: {flow.purpose}",
            f"lawful basis: {flow.lawful_basis}",
        ]
        if flow.special_category_condition:
            lines.append(f"special category condition: {flow.special_category_condition}")
        if flow.criminal_offence_condition:
            lines.append(f"criminal offence condition: {flow.criminal_offence_condition}")
        lines.append(f"legal gateway: {flow.legal_gateway}")
        for rule in policy.retention_rules(recipient, dataset):
            lines.append(
                f"retention at {recipient} ('{rule.id}'): {retention_sentence(policy, rule)}"
            )
        for promise in policy.promises_for(flow.id):
            lines.append(f"keeps promise '{promise.id}'")
    return FlowExplanation(True, lines)


def _short_name(policy: Policy, party_id: str) -> str:
    """'Department for Work and Pensions (DWP)' → 'DWP' where the name gives one."""
    name = policy.party(party_id).name
    if name.endswith(")") and "(" in name:
        return name[name.rindex("(") + 1 : -1]
    return name


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _contact_text(contact: Contact) -> str:
    parts = [contact.name, contact.role, contact.address, contact.email, contact.phone, contact.url]
    return ", ".join(p for p in parts if p)


def _party_contact(party: Party) -> str:
    contacts = "; ".join(_contact_text(c) for c in party.contacts)
    return f"{party.name}" + (f" ({contacts})" if contacts else "")
