"""Packages made by hand in tests: sealed with a node's real keys, but never through
`Node.send`, so no flow of the policy checked them — what a broken or hostile sender's
software would deliver."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from evalink.node import Node
from evalink.node import package as pkg


def seal_by_hand(node: Node, out: Path, table: pa.Table, *, dataset: str, to: str) -> Path:
    keys = node.trusted(to)
    assert keys is not None, f"{node.party} does not trust {to}"
    with out.open("wb") as handle:
        pkg.seal(
            handle,
            table,
            manifest={
                "dataset": dataset,
                "purpose": "evaluation",
                "flow": "x",
                "policy_id": node.policy.id,
                "policy_version": node.policy.version,
                "policy_fingerprint": node.policy.fingerprint,
            },
            sender=node.party,
            signing_key=node.keyring.signing_key,
            recipient=to,
            recipient_key=keys.encryption_key(),
        )
    return out
