"""Parties as nodes: encrypted stores, a separate identifier vault, sealed transfers.

    init_node("nodes/linker", party="linker", policy_path="policy.yaml", passphrase=pw)
    with Node.open("nodes/linker", pw) as node:
        node.trust("council.pub.json")
        node.receive()                                  # inbox → store / vault
        table = node.read_dataset("identifiers")        # audited identifier read
        node.write_dataset("links", links)              # one encrypted part, all or nothing
        node.send("dwp", "identifiers", table)          # policy-checked, sealed to dwp
        retention.destroy(node, "identifiers", reason="…")  # crypto-shredding, certified
        node.audit.record("export", dataset="links", rows=12)
    deliver("nodes/linker", "nodes/dwp")                # outbox → inbox, no keys needed

See docs/security.md for the threat model and key design.
"""

from evalink.node.keyring import KeyRing, WrongPassphrase
from evalink.node.node import (
    Node,
    Part,
    Received,
    deliver,
    init_node,
    node_party,
    unfinished_transactions,
)
from evalink.node.package import PackageRefused
from evalink.node.store import attach, connect

__all__ = [
    "KeyRing",
    "Node",
    "PackageRefused",
    "Part",
    "Received",
    "WrongPassphrase",
    "attach",
    "connect",
    "deliver",
    "init_node",
    "node_party",
    "unfinished_transactions",
]
