"""The policy file's schema: parties, datasets, flows, exports, retention, disclosure,
safeguards and the promises they keep.

Every model forbids unknown keys: a misspelt key in a policy is a rule that silently
does nothing, which is worse than an error. Cross-references (a flow naming a party, a
promise naming a rule) are checked in `validate.py`, where the path of each problem in
the document can be reported.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Contact(Strict):
    """How a person reaches a party: any of these may be given, at least one must be."""

    name: Text | None = None
    role: Text | None = None
    address: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    url: Text | None = None

    @field_validator("email")
    @classmethod
    def _email_has_at(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("not an email address")
        return value


class Role(StrEnum):
    CONTROLLER = "controller"
    JOINT_CONTROLLER = "joint_controller"
    PROCESSOR = "processor"
    TRUSTED_THIRD_PARTY = "trusted_third_party"
    RECIPIENT = "recipient"


class Party(Strict):
    id: Id
    name: Text
    role: Role
    description: Text | None = None
    contacts: list[Contact] = []
    dpo: Contact | None = None
    # Parties that hold direct identifiers keep them in a separately keyed vault.
    holds_identifiers: bool = False
    # Nodes a department runs to match identifiers against its own records.
    department: bool = False


class FieldClass(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SPECIAL_CATEGORY = "special_category"  # UK GDPR Art 9
    CRIMINAL_OFFENCE = "criminal_offence"  # UK GDPR Art 10
    ATTRIBUTE = "attribute"


class DatasetField(Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    class_: FieldClass = Field(alias="class")
    description: Text | None = None


class Dataset(Strict):
    id: Id
    description: Text
    subjects: list[Text] = Field(min_length=1)
    fields: list[DatasetField] = Field(min_length=1)
    # Holds records linked from other organisations' data (never back to the council).
    linked: bool = False
    # Stored in the holder's identifier vault, apart from everything else.
    vault: bool = False

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def fields_of_class(self, field_class: FieldClass) -> list[str]:
        return [f.name for f in self.fields if f.class_ == field_class]


class Purpose(Strict):
    id: Id
    description: Text


class Flow(Strict):
    id: Id
    from_: Id = Field(alias="from")
    to: Id
    dataset: Id
    fields: list[str] = Field(min_length=1)
    purpose: Id
    description: Text | None = None
    lawful_basis: Text
    special_category_condition: Text | None = None
    criminal_offence_condition: Text | None = None
    legal_gateway: Text


# Field classes an export rule allows when it names none: nothing that identifies a
# person directly and nothing in Art 9 or Art 10's special regimes.
DEFAULT_EXPORT_CLASSES = (FieldClass.ATTRIBUTE, FieldClass.QUASI_IDENTIFIER)


class ExportRule(Strict):
    """A party reading a dataset out of its node into a clear file (`evalink export`).

    The file leaves the governed system: no key, audit log or retention rule follows it.
    So, as with a flow, only what a rule describes is allowed — who, which datasets, for
    which purpose and which classes of field — and everything else is refused.
    """

    id: Id
    party: Id
    datasets: list[Id] = Field(min_length=1)
    purpose: Id
    # Where the file goes and who uses it: the notice and the ROPA say this.
    description: Text
    field_classes: list[FieldClass] = Field(
        default_factory=lambda: list(DEFAULT_EXPORT_CLASSES), min_length=1
    )
    lawful_basis: Text
    special_category_condition: Text | None = None
    criminal_offence_condition: Text | None = None

    def covers(self, party: str, dataset: str) -> bool:
        return party == self.party and dataset in self.datasets


_PERIOD = re.compile(r"^\s*(\d+)\s+(day|week|month|year)s?\s*$")


class Period(Strict):
    """A length of time written as people write it: '30 days', '1 month', '7 years'."""

    amount: int
    unit: Literal["day", "week", "month", "year"]

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text)
        if not match:
            raise ValueError(f"'{text}' is not a period such as '30 days' or '7 years'")
        return cls(amount=int(match[1]), unit=match[2])  # type: ignore[arg-type]

    def after(self, start: date) -> date:
        return self._shift(start, self.amount)

    def before(self, end: date) -> date:
        return self._shift(end, -self.amount)

    def _shift(self, start: date, amount: int) -> date:
        if self.unit == "day":
            return date.fromordinal(start.toordinal() + amount)
        if self.unit == "week":
            return date.fromordinal(start.toordinal() + 7 * amount)
        months = amount * (12 if self.unit == "year" else 1)
        year, month0 = divmod(start.month - 1 + months, 12)
        year, month = start.year + year, month0 + 1
        # 31 January + 1 month is the last day of February, not 3 March.
        return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'' if self.amount == 1 else 's'}"


class RetentionEvent(StrEnum):
    """What a `keep_for` period counts from. A rule sets no date until its event has
    happened, so the caller says which events apply to an item: for a council family,
    {'case_closed': d} once its case closed, {'identified': d} if the programme never
    worked with it (eligible and waiting, or not eligible), {} while its case is open."""

    RECEIPT = "receipt"  # the data arrived at the holder
    CASE_CLOSED = "case_closed"  # the service to the family ended
    # The council identified the family; the event of a family that has no case closure
    # because the programme never worked with it.
    IDENTIFIED = "identified"
    PROJECT_END = "project_end"


class RetentionRule(Strict):
    """When a party must destroy what it holds: by a fixed date, or a period after an event."""

    id: Id
    description: Text | None = None
    parties: list[Id] = Field(min_length=1)
    # Dataset ids, or ['*'] for everything the parties hold for this purpose.
    datasets: list[str] = Field(min_length=1)
    destroy_by: date | None = None
    keep_for: Period | None = None
    after: RetentionEvent | None = None

    @field_validator("keep_for", mode="before")
    @classmethod
    def _parse_period(cls, value: object) -> object:
        return Period.parse(value) if isinstance(value, str) else value

    def covers(self, party: str, dataset: str) -> bool:
        return party in self.parties and ("*" in self.datasets or dataset in self.datasets)

    def destroy_date(self, event_date: date | None = None) -> date:
        """The destroy-by date for an item whose triggering event happened on `event_date`.

        When a rule has both, the earlier date wins: a fixed end date is a ceiling.
        """
        dates = []
        if self.destroy_by is not None:
            dates.append(self.destroy_by)
        if self.keep_for is not None:
            if event_date is None:
                raise ValueError(f"retention rule '{self.id}' needs the date of '{self.after}'")
            dates.append(self.keep_for.after(event_date))
        return min(dates)


class Dominance(Strict):
    """(n, k) rule: a cell fails if its n largest contributors make up more than k%."""

    n: int = Field(ge=1)
    k: float = Field(gt=0, le=100)


class DisclosureRules(Strict):
    """Statistical disclosure control of what `applies_to` receives (evalink.disclosure):
    the thresholds ACRO and UK trusted research environments use, by name."""

    id: Id
    description: Text | None = None
    applies_to: list[Id] = Field(min_length=1)
    # Minimum number of distinct units (persons or families) behind any published cell.
    min_cell_count: int = Field(ge=1)
    dominance: Dominance
    # p-ratio: the contributors other than the two largest must add up to at least
    # p_ratio% of the largest, or the second largest could estimate it too closely.
    p_ratio: float = Field(gt=0, lt=100)  # percent
    rounding_base: int = Field(ge=1)
    # A zero says "no one in this group has it" about everyone in the group.
    zeros_disclosive: bool = True
    # Model outputs: residual degrees of freedom at least this.
    min_dof: int = Field(10, ge=1)


class IntruderEvents(Strict):
    """The outcome events an intruder knows: the rows matching `where` (released column
    → values), and of each the columns in `knows`; all of a unit's such events, or one."""

    where: dict[str, list[str]] = Field(min_length=1)
    knows: list[str] = Field(min_length=1)
    how_many: Literal["all", "one"] = "all"


def units_word(unit: str) -> str:
    """How an intruder's units read in a sentence: 'families' or 'persons'."""
    return "families" if unit == "family" else "persons"


class Intruder(Strict):
    """Someone who might try to re-identify the research dataset, by what they know (as
    columns of the released dataset), and the share of units the policy accepts their
    attack re-identifying."""

    id: Id
    description: Text
    dataset: Id
    unit: Literal["family", "person"]
    knows: list[str] = []
    events: IntruderEvents | None = None
    max_reidentified: float = Field(gt=0, lt=1)
    # False: the attack is run and reported with every release, but no release is
    # refused for it — for a risk the policy states it cannot yet prevent, so that it is
    # shown (as a promise not kept) rather than hidden.
    enforced: bool = True

    @property
    def units_word(self) -> str:
        return units_word(self.unit)


class SafeguardKind(StrEnum):
    # No flow may send a matching dataset to these parties.
    NEVER_SEND = "never_send"
    # Every flow's purpose must be one of these.
    PURPOSE_LIMIT = "purpose_limit"
    # Flows to these parties may not carry fields of these classes.
    NO_FIELD_CLASSES = "no_field_classes"
    # Datasets with direct identifiers are held in the recipient's separate vault.
    IDENTIFIERS_IN_VAULT = "identifiers_in_vault"
    # Records released to these parties are k-anonymous on their quasi-identifiers.
    K_ANONYMITY = "k_anonymity"
    # Reference numbers are random, never derived from identifiers.
    RANDOM_REFERENCE = "random_reference"
    # Every transfer is checked against the flows; anything else is refused.
    DEFAULT_DENY = "default_deny"
    # No export may carry fields of these classes, from `parties` (every party if none).
    NO_EXPORT = "no_export"


class Safeguard(Strict):
    id: Id
    kind: SafeguardKind
    description: Text | None = None
    to: list[Id] = []
    datasets: list[Id] = []
    linked_datasets: bool = False
    purposes: list[Id] = []
    field_classes: list[FieldClass] = []
    k: int | None = Field(default=None, ge=2)
    # The parties whose exports a no_export safeguard governs; empty means every party.
    parties: list[Id] = []

    def governs_export_from(self, party: str) -> bool:
        return self.kind == SafeguardKind.NO_EXPORT and (not self.parties or party in self.parties)


class Promise(Strict):
    """A commitment the notice makes to families, and the rules that keep it."""

    id: Id
    text: Text
    enforced_by: list[Id] = Field(min_length=1)


class NoticeText(Strict):
    """The parts of the published notice that are narrative, not rules."""

    title: Text
    introduction: list[Text] = Field(min_length=1)
    identification: Text
    study_aims: list[Text] = Field(min_length=1)
    further_information: Text | None = None


class PolicyInfo(Strict):
    id: Id
    version: Text
    title: Text
    published: date
    # No free-text security measures: the notice's are derived from the rules evalink
    # enforces (policy/measures.py), so it cannot claim a safeguard the code lacks.
    international_transfers: Text


class PolicyDocument(Strict):
    """The whole policy file."""

    policy: PolicyInfo
    notice: NoticeText
    parties: list[Party] = Field(min_length=1)
    datasets: list[Dataset] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)
    flows: list[Flow] = []
    exports: list[ExportRule] = []
    retention: list[RetentionRule] = []
    disclosure: list[DisclosureRules] = []
    intruders: list[Intruder] = []
    safeguards: list[Safeguard] = []
    promises: list[Promise] = []
    complaints: Contact
