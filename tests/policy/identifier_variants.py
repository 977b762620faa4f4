"""Policy variants that add or rename an identifier, for the tests that prove a stage
asks the policy which fields identify a person instead of keeping its own list."""

from __future__ import annotations

from evalink.policy import Policy
from tests.policy.helpers import index_of, policy_with


def add_identifier(document: dict, name: str, field_class: str = "direct_identifier") -> None:
    """A new field in the identifiers dataset, allowed in the council's flow of it."""
    identifiers = document["datasets"][index_of(document["datasets"], "identifiers")]
    identifiers["fields"].append({"name": name, "class": field_class})
    flows = document["flows"]
    flows[index_of(flows, "council-identifiers-to-linker")]["fields"].append(name)


def rename_field(document: dict, old: str, new: str) -> None:
    """`old` called `new` in every dataset and flow."""
    for dataset in document["datasets"]:
        for field in dataset["fields"]:
            if field["name"] == old:
                field["name"] = new
    for flow in document["flows"]:
        flow["fields"] = [new if name == old else name for name in flow["fields"]]


def policy_adding(name: str, field_class: str = "direct_identifier") -> Policy:
    return policy_with(lambda document: add_identifier(document, name, field_class))


def policy_renaming(old: str, new: str) -> Policy:
    return policy_with(lambda document: rename_field(document, old, new))
