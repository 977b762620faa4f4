"""The policy as every other stage uses it: look-ups and the checks that deny by default."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from evalink.errors import InputError, PolicyViolation
from evalink.policy.spec import (
    Dataset,
    DisclosureRules,
    ExportRule,
    FieldClass,
    Flow,
    Intruder,
    Party,
    PolicyDocument,
    Promise,
    RetentionRule,
    Safeguard,
    SafeguardKind,
)
from evalink.policy.validate import promises_kept_by, rule_ids, safeguard_breach

DEFAULT_K_ANONYMITY = 10

# Not fields of any dataset, so not in the policy file: the names a person's identifiers
# would travel under whatever the policy calls its fields — a whole name, a date of
# birth spelt out, a cell's value, a row's values. Which fields *are* identifiers is
# the policy's to say; these only close the gaps a caller could slip through.
IDENTIFIER_CARRIERS = frozenset({"name", "date_of_birth", "value", "values", "row_values"})

Item = TypeVar("Item", Party, Dataset)


@dataclass(frozen=True)
class Policy:
    """A checked policy. `fingerprint` (SHA-256 of the file) travels in every package."""

    document: PolicyDocument
    source: str
    fingerprint: str

    @property
    def id(self) -> str:
        return self.document.policy.id

    @property
    def version(self) -> str:
        return self.document.policy.version

    # --- look-ups -------------------------------------------------------------------

    def party(self, party_id: str) -> Party:
        return self._named(self.document.parties, party_id, "party")

    def dataset(self, dataset_id: str) -> Dataset:
        return self._named(self.document.datasets, dataset_id, "dataset")

    def _named(self, items: list[Item], item_id: str, kind: str) -> Item:
        """The item with this id; anything the policy does not name is denied."""
        for item in items:
            if item.id == item_id:
                return item
        raise PolicyViolation(
            f"{kind} '{item_id}' is not in policy '{self.id}'",
            rule="default-deny",
            promises=self._promise_ids("default-deny"),
        )

    def flows_from(self, party_id: str) -> list[Flow]:
        return [f for f in self.document.flows if f.from_ == party_id]

    def flows_to(self, party_id: str) -> list[Flow]:
        return [f for f in self.document.flows if f.to == party_id]

    def promises_for(self, rule_id: str) -> list[Promise]:
        """The promises this rule keeps."""
        return promises_kept_by(self.document, rule_id)

    def rule_ids(self) -> set[str]:
        return rule_ids(self.document)

    def safeguards(self, kind: SafeguardKind) -> list[Safeguard]:
        return [s for s in self.document.safeguards if s.kind == kind]

    def retention_rules(self, party_id: str, dataset_id: str) -> list[RetentionRule]:
        return [r for r in self.document.retention if r.covers(party_id, dataset_id)]

    def destroy_by(self, party_id: str, dataset_id: str, events: dict[str, date]) -> date | None:
        """The earliest destroy-by date any rule sets for this dataset at this party.

        `events` gives the dates of the events rules count from (e.g. {'receipt': ...});
        rules whose event has not happened yet do not set a date.
        """
        return self.destroy_by_rule(party_id, dataset_id, events)[0]

    def destroy_by_rule(
        self, party_id: str, dataset_id: str, events: dict[str, date]
    ) -> tuple[date | None, str | None]:
        """`destroy_by`, and the id of the rule that sets it. A rule counting from an
        event that has not happened (a case still open) sets no date, unless it also
        has a fixed date, which is a ceiling."""
        best: tuple[date | None, str | None] = (None, None)
        for rule in self.retention_rules(party_id, dataset_id):
            event = rule.after.value if rule.after else None
            if event is not None and event not in events:
                day = rule.destroy_by
            else:
                day = rule.destroy_date(events.get(event) if event else None)
            if day is not None and (best[0] is None or day < best[0]):
                best = (day, rule.id)
        return best

    def intruders(self, dataset: str) -> list[Intruder]:
        """The intruders the policy says `dataset` must hold against, in its order."""
        return [i for i in self.document.intruders if i.dataset == dataset]

    def disclosure_rules(self, party_id: str = "public") -> DisclosureRules | None:
        return next((d for d in self.document.disclosure if party_id in d.applies_to), None)

    def k_anonymity(self, party_id: str) -> int:
        ks = [s.k for s in self.safeguards(SafeguardKind.K_ANONYMITY) if party_id in s.to and s.k]
        return max(ks, default=DEFAULT_K_ANONYMITY)

    def direct_identifier_fields(self) -> set[str]:
        """Every field name that any dataset classes as a direct identifier."""
        return set(self.fields_of_class(FieldClass.DIRECT_IDENTIFIER))

    # --- field classes: the one place that says which fields identify a person --------

    def fields_of_class(self, *classes: FieldClass, dataset: str | None = None) -> list[str]:
        """The names of the fields of any of these classes, in the policy's order: in
        one dataset (an unknown one is denied), or in every dataset, each name once."""
        datasets = self.document.datasets if dataset is None else [self.dataset(dataset)]
        return list(
            dict.fromkeys(f.name for d in datasets for f in d.fields if f.class_ in classes)
        )

    def quasi_identifiers(self, dataset: str) -> list[str]:
        """The fields of `dataset` that single a person out in combination: what
        k-anonymity is counted on."""
        return self.fields_of_class(FieldClass.QUASI_IDENTIFIER, dataset=dataset)

    def identifying_fields(self, dataset: str) -> list[str]:
        """The fields of `dataset` that identify a person, alone or together (direct
        and quasi-identifiers): what a council reads and shares to find someone."""
        return self.fields_of_class(
            FieldClass.DIRECT_IDENTIFIER, FieldClass.QUASI_IDENTIFIER, dataset=dataset
        )

    def personal_fields(self) -> frozenset[str]:
        """Names that would carry a person's identifiers: every direct identifier of any
        dataset, and the names such values travel under whatever the fields are called
        (`IDENTIFIER_CARRIERS`). Audit details and package notes may not use them."""
        return frozenset(self.fields_of_class(FieldClass.DIRECT_IDENTIFIER)) | IDENTIFIER_CARRIERS

    # --- enforcement ----------------------------------------------------------------

    def check_flow(
        self,
        sender: str,
        recipient: str,
        dataset: str,
        fields: Iterable[str],
        purpose: str | None = None,
    ) -> Flow:
        """The flow that allows this transfer, or `PolicyViolation` naming the rule broken.

        Default deny: a transfer no flow describes is refused, as is any field outside
        the flow's allow-list — refused, never silently dropped.
        """
        fields = list(fields)
        self.party(sender)
        target = self.party(recipient)
        candidates = [
            f
            for f in self.document.flows
            if f.from_ == sender and f.to == recipient and f.dataset == dataset
        ]
        if not candidates:
            self._refuse_by_safeguard(sender, recipient, dataset, fields, target.holds_identifiers)
            raise PolicyViolation(
                f"no flow allows {sender}→{recipient} for dataset '{dataset}'",
                rule="default-deny",
                promises=self._promise_ids("default-deny"),
            )
        if purpose is not None:
            matching = [f for f in candidates if f.purpose == purpose]
            if not matching:
                flow = candidates[0]
                raise PolicyViolation(
                    f"purpose '{purpose}' is not allowed in flow {sender}→{recipient} "
                    f"({dataset}); allowed: {', '.join(sorted({f.purpose for f in candidates}))}",
                    rule=flow.id,
                    promises=self._promise_ids(flow.id),
                )
            candidates = matching
        for flow in candidates:
            if set(fields) <= set(flow.fields):
                return flow
        flow = candidates[0]
        extra = [name for name in fields if name not in flow.fields]
        field_word = "field" if len(extra) == 1 else "fields"
        raise PolicyViolation(
            f"{field_word} {', '.join(repr(n) for n in extra)} not allowed in flow "
            f"{sender}→{recipient} ({dataset}); allowed: {', '.join(flow.fields)}",
            rule=flow.id,
            promises=self._promise_ids(flow.id),
        )

    def _refuse_by_safeguard(
        self, sender: str, recipient: str, dataset_id: str, fields: list[str], vault: bool
    ) -> None:
        """Name the safeguard an unlisted transfer would break, when one does: the more
        specific reason helps the user more than 'default deny'."""
        try:
            dataset = self.dataset(dataset_id)
        except PolicyViolation:
            return
        known = [f for f in fields if f in dataset.field_names()] or dataset.field_names()
        proposed = Flow.model_construct(
            id="(proposed)",
            from_=sender,
            to=recipient,
            dataset=dataset_id,
            fields=known,
            purpose="",
            lawful_basis="",
            legal_gateway="",
        )
        for safeguard in self.document.safeguards:
            if safeguard.kind == SafeguardKind.PURPOSE_LIMIT:
                continue  # an unlisted transfer has no purpose yet
            broken = safeguard_breach(safeguard, proposed, dataset, vault)
            if broken:
                raise PolicyViolation(
                    f"refused: {broken}",
                    rule=safeguard.id,
                    promises=self._promise_ids(safeguard.id),
                )

    def export_rules(self, party_id: str, dataset_id: str) -> list[ExportRule]:
        return [e for e in self.document.exports if e.covers(party_id, dataset_id)]

    def field_class(self, dataset_id: str, name: str) -> FieldClass | None:
        """The class of field `name` as `dataset_id` declares it; for a name the dataset
        does not declare, the most sensitive class any dataset gives that name (a column
        called `surname` is an identifier wherever it turns up); None if no dataset
        names it."""
        for dataset in self.document.datasets:
            if dataset.id == dataset_id:
                for item in dataset.fields:
                    if item.name == name:
                        return item.class_
        classes = [
            item.class_
            for dataset in self.document.datasets
            for item in dataset.fields
            if item.name == name
        ]
        return min(classes, key=_SENSITIVITY.index, default=None)

    def check_export(
        self, party: str, dataset: str, fields: Iterable[str], purpose: str | None = None
    ) -> ExportRule:
        """The export rule that lets `party` read `dataset` (with these fields) out of its
        node into a file, or `PolicyViolation` naming the rule that refuses it.

        Default deny, as for flows: the file leaves the governed system, so an export no
        rule describes is refused. Only datasets the policy declares can be exported: a
        node's working dataset has no field classes the policy vouches for. With no
        `purpose`, the rules' one purpose is taken; if they allow several, it must be named.
        """
        fields = list(fields)
        self.party(party)
        if not any(d.id == dataset for d in self.document.datasets):
            raise PolicyViolation(
                f"dataset '{dataset}' is not declared in policy '{self.id}': its fields have "
                "no classes, so it cannot be exported",
                rule="default-deny",
                promises=self._promise_ids("default-deny"),
            )
        found = {name: self.field_class(dataset, name) for name in fields}
        classes = {name: c for name, c in found.items() if c is not None}
        unknown = [name for name, c in found.items() if c is None]
        # A safeguard no rule may override is the most specific reason to give.
        for safeguard in self.document.safeguards:
            if safeguard.governs_export_from(party):
                banned = [n for n, c in classes.items() if c in safeguard.field_classes]
                if banned:
                    raise PolicyViolation(
                        f"refused: exporting {_class_words(classes, banned, ' and ')} "
                        f"({', '.join(banned)}) from '{party}'",
                        rule=safeguard.id,
                        promises=self._promise_ids(safeguard.id),
                    )
        rules = self.export_rules(party, dataset)
        if not rules:
            raise PolicyViolation(
                f"no export rule lets '{party}' export dataset '{dataset}'",
                rule="default-deny",
                promises=self._promise_ids("default-deny"),
            )
        allowed_purposes = sorted({r.purpose for r in rules})
        if purpose is None:
            if len(allowed_purposes) > 1:
                raise InputError(
                    f"name the purpose of this export of '{dataset}': export rules allow "
                    f"{', '.join(allowed_purposes)}"
                )
            purpose = allowed_purposes[0]
        matching = [r for r in rules if r.purpose == purpose]
        if not matching:
            raise PolicyViolation(
                f"purpose '{purpose}' is not allowed for exports of '{dataset}' from "
                f"'{party}'; allowed: {', '.join(allowed_purposes)}",
                rule=rules[0].id,
                promises=self._promise_ids(rules[0].id),
            )
        for rule in matching:
            if not unknown and set(classes.values()) <= set(rule.field_classes):
                return rule
        rule = matching[0]
        if unknown:
            message = (
                f"{_fields_word(unknown)} {', '.join(repr(n) for n in unknown)} not declared "
                f"in dataset '{dataset}', so export rule '{rule.id}' cannot allow "
                f"{'it' if len(unknown) == 1 else 'them'}"
            )
        else:
            refused = [n for n, c in classes.items() if c not in rule.field_classes]
            message = (
                f"{_fields_word(refused)} {', '.join(repr(n) for n in refused)} "
                f"({_class_words(classes, refused, ', ')}) not allowed by export rule "
                f"'{rule.id}'; it allows {', '.join(c.value for c in rule.field_classes)}"
            )
        raise PolicyViolation(message, rule=rule.id, promises=self._promise_ids(rule.id))

    def _promise_ids(self, rule_id: str) -> list[str]:
        return [p.id for p in self.promises_for(rule_id)]


# Most sensitive first: a name two datasets class differently takes the stricter class.
_SENSITIVITY = (
    FieldClass.DIRECT_IDENTIFIER,
    FieldClass.CRIMINAL_OFFENCE,
    FieldClass.SPECIAL_CATEGORY,
    FieldClass.QUASI_IDENTIFIER,
    FieldClass.ATTRIBUTE,
)
_CLASS_NAMES = {
    FieldClass.DIRECT_IDENTIFIER: "direct identifiers",
    FieldClass.CRIMINAL_OFFENCE: "criminal offence data",
    FieldClass.SPECIAL_CATEGORY: "special category data",
    FieldClass.QUASI_IDENTIFIER: "quasi-identifiers",
    FieldClass.ATTRIBUTE: "attributes",
}


def _class_words(classes: dict[str, FieldClass], names: list[str], joiner: str) -> str:
    """'direct identifiers and quasi-identifiers': the classes of `names`, once each."""
    return joiner.join(sorted({_CLASS_NAMES[classes[name]] for name in names}))


def _fields_word(names: list[str]) -> str:
    return "field" if len(names) == 1 else "fields"
