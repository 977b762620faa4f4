"""What evalink enforces, and the security-measure sentences the notice derives from it.

A sentence in the notice is a claim made to families. So the notice does not print free
text from the policy file: each kind of rule the policy can state is registered here
with whether code enforces it, and where, and the sentence that follows from it. A
measure is stated in the notice only if its code exists and the policy has a rule of
its kind (or it is built into every node). A kind whose code does not exist yet is `enforced=False` (statistical disclosure
control was, until the release stage was built): the ROPA lists its rules as "stated, not yet enforced by evalink", and the notice
neither states the measure nor names those rules as keeping a promise.

When the code for a kind is written, flip `enforced` here: the notice follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evalink.policy.enforce import Policy
from evalink.policy.spec import FieldClass, SafeguardKind
from evalink.policy.validate import BUILT_IN_RULES, RULE_SECTIONS

NOT_YET_ENFORCED = "stated, not yet enforced by evalink"
# The rule sections registered by section; safeguards are registered by kind.
_SECTIONS = tuple(s for s in RULE_SECTIONS if s != "safeguards")


@dataclass(frozen=True)
class Enforcement:
    """How evalink enforces one kind of rule: `by` names the code, for reviewers."""

    enforced: bool
    by: str
    # The security-measure sentence for a policy with rules of this kind, or None when
    # the kind is said elsewhere in the notice (flows and promises have their own lines).
    sentence: Callable[[Policy], str] | None = None


def _identifier_words(policy: Policy) -> str:
    """The vault's direct identifiers in plain words: 'forename, surname, date of birth'."""
    words = list(
        dict.fromkeys(
            item.description or item.name.replace("_", " ")
            for dataset in policy.document.datasets
            if dataset.vault
            for item in dataset.fields
            if item.class_ == FieldClass.DIRECT_IDENTIFIER
        )
    )
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def _smallest_k(policy: Policy) -> int:
    return min(s.k for s in policy.safeguards(SafeguardKind.K_ANONYMITY) if s.k)


def _no_export_sentence(policy: Policy) -> str:
    banned = dict.fromkeys(
        "direct identifiers"
        if c == FieldClass.DIRECT_IDENTIFIER
        else c.value.replace("_", " ") + " data"
        for s in policy.safeguards(SafeguardKind.NO_EXPORT)
        for c in s.field_classes
    )
    return f"No one may export {' or '.join(banned)} from these systems to a file."


def _intruder_sentence(policy: Policy) -> str:
    enforced = [i for i in policy.document.intruders if i.enforced]
    bounds = "; ".join(
        f"{i.id}: at most {i.max_reidentified:.1%} of {i.units_word}" for i in enforced
    )
    return (
        "Before researchers receive their dataset, it is attacked as each motivated "
        "intruder this policy names would attack it, with what that intruder knows, and "
        "generalised until the attack re-identifies no more than the policy accepts "
        f"({bounds}); otherwise it is not sent."
    )


# Built into every node, whatever the policy says.
BUILT_IN: dict[str, Enforcement] = {
    "encryption-at-rest": Enforcement(
        True,
        "evalink.node.store and keyring: every part, the catalog, WAL and spill files",
        lambda _: (
            "Each party's data is held in databases encrypted at rest (AES-GCM), "
            "one key per stored part, under keys derived from a passphrase."
        ),
    ),
    "sealed-packages": Enforcement(
        True,
        "Node.send and Node.receive: sealed, signed, and Policy.check_flow on both sides",
        lambda _: (
            "Data moves between parties only in sealed packages, encrypted to the "
            "recipient and signed by the sender, and checked against this policy when sent "
            "and when received; anything no flow describes is refused."
        ),
    ),
    "audit-log": Enforcement(
        True,
        "evalink.audit: hash-chained, signed checkpoints, `evalink audit verify`",
        lambda _: (
            "Every transfer, read, export, refusal and destruction is written to a "
            "tamper-evident, hash-chained audit log."
        ),
    ),
}

# One entry per section of rules, and per kind of safeguard.
RULE_KINDS: dict[str, Enforcement] = {
    "flows": Enforcement(True, "Policy.check_flow on every send and receive"),
    "exports": Enforcement(
        True,
        "Policy.check_export in evalink.node.export (`evalink export`)",
        lambda _: (
            "Data is exported from a party's systems to a file only as an export "
            "rule of this policy allows, for its purpose, and every export is audited."
        ),
    ),
    "retention": Enforcement(
        True,
        "destroy-by dates on every stored part; evalink.retention destroys and certifies",
        lambda _: (
            "Data is destroyed on schedule by deleting it and destroying its "
            "encryption key, with a destruction certificate."
        ),
    ),
    "intruders": Enforcement(
        True,
        "evalink.assemble.intruder and deidentify before sending; the research node "
        "checks the result on receipt",
        _intruder_sentence,
    ),
    "disclosure": Enforcement(
        True,
        "evalink.disclosure on every `evalink table` (cell rules, secondary suppression "
        "audited by linear programming, differencing against the project's releases); "
        "evalink.release, the airlock (two reviewers, neither the author); the public "
        "node refuses anything else on receipt",
        lambda _: (
            "Published tables and reports pass statistical disclosure control and two "
            "independent reviewers before release."
        ),
    ),
    SafeguardKind.DEFAULT_DENY.value: Enforcement(
        True, "Policy.check_flow: a transfer no flow describes is refused"
    ),
    SafeguardKind.PURPOSE_LIMIT.value: Enforcement(
        True, "checked when the policy loads (flows and export rules) and on every transfer"
    ),
    SafeguardKind.NEVER_SEND.value: Enforcement(
        True, "checked when the policy loads and by Policy.check_flow"
    ),
    SafeguardKind.NO_FIELD_CLASSES.value: Enforcement(
        True, "checked when the policy loads and by Policy.check_flow"
    ),
    SafeguardKind.IDENTIFIERS_IN_VAULT.value: Enforcement(
        True,
        "Node stores any dataset with a direct identifier in its separately keyed vault",
        lambda policy: (
            f"Direct identifiers – {_identifier_words(policy)} – are kept in a "
            "separately keyed identifier vault, never joined with other information."
        ),
    ),
    SafeguardKind.K_ANONYMITY.value: Enforcement(
        True,
        "evalink.assemble verifies k-anonymity before the research dataset is sent",
        lambda policy: (
            "Before researchers receive their dataset, it is generalised and "
            "checked so that every combination of its indirect identifiers is shared by at "
            f"least {_smallest_k(policy)} people."
        ),
    ),
    SafeguardKind.RANDOM_REFERENCE.value: Enforcement(
        True, "evalink.share draws reference numbers at random; pseudonyms are keyed per project"
    ),
    SafeguardKind.NO_EXPORT.value: Enforcement(
        True, "checked when the policy loads and by Policy.check_export", _no_export_sentence
    ),
}


def rule_kind(policy: Policy, rule_id: str) -> str:
    """The registry key of a rule: its safeguard kind, or its section."""
    if rule_id in BUILT_IN_RULES:
        return SafeguardKind.DEFAULT_DENY.value
    doc = policy.document
    for safeguard in doc.safeguards:
        if safeguard.id == rule_id:
            return safeguard.kind.value
    for section in _SECTIONS:
        if any(item.id == rule_id for item in getattr(doc, section)):
            return section
    raise KeyError(f"rule '{rule_id}' is not in policy '{policy.id}'")


def is_enforced(policy: Policy, rule_id: str) -> bool:
    intruder = next((i for i in policy.document.intruders if i.id == rule_id), None)
    if intruder is not None:
        return intruder.enforced
    return RULE_KINDS[rule_kind(policy, rule_id)].enforced


def _kinds_present(policy: Policy) -> list[str]:
    doc = policy.document
    kinds = [section for section in _SECTIONS if getattr(doc, section)]
    return kinds + list(dict.fromkeys(s.kind.value for s in doc.safeguards))


def security_measures(policy: Policy) -> list[str]:
    """The sentences the notice may state: built-in measures, then one per kind of rule
    the policy has and the code enforces."""
    sentences = [m.sentence(policy) for m in BUILT_IN.values() if m.sentence]
    for kind in _kinds_present(policy):
        entry = RULE_KINDS[kind]
        if entry.enforced and entry.sentence is not None:
            sentences.append(entry.sentence(policy))
    return sentences


def stated_not_enforced(policy: Policy) -> list[tuple[str, str]]:
    """(rule id, sentence) for each rule the policy states that evalink does not enforce
    yet: for the ROPA and `evalink policy check`, never for the notice."""
    unenforced = [
        (i.id, f"motivated intruder measured with every release, not enforced: {i.description}")
        for i in policy.document.intruders
        if not i.enforced
    ]
    for kind in _kinds_present(policy):
        entry = RULE_KINDS[kind]
        if entry.enforced:
            continue
        sentence = entry.sentence(policy) if entry.sentence else kind
        for rule_id in _rule_ids_of_kind(policy, kind):
            unenforced.append((rule_id, sentence))
    return unenforced


def _rule_ids_of_kind(policy: Policy, kind: str) -> list[str]:
    doc = policy.document
    if kind in _SECTIONS:
        return [item.id for item in getattr(doc, kind)]
    return [s.id for s in doc.safeguards if s.kind.value == kind]
