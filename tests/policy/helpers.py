"""Build policy variants from the example: load its YAML, change one thing, parse it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import yaml

from evalink.policy import Policy, parse_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "troubled-families.yaml"
_RAW = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def example_document() -> dict:
    """A fresh, mutable copy of the example policy as plain YAML data."""
    return copy.deepcopy(_RAW)


def policy_with(change: Callable[[dict], object], source: str = "changed.yaml") -> Policy:
    document = example_document()
    change(document)
    return parse_policy(yaml.safe_dump(document, sort_keys=False), source=source)


def index_of(items: list[dict], item_id: str) -> int:
    return next(i for i, item in enumerate(items) if item["id"] == item_id)
