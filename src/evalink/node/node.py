"""The `Node` front door: an opened node (one session) is one class, assembled from one
mixin per concept. Start at layout.py: what a node's directory holds, and why each
write or received package is an encrypted file of its own.

    layout.py           the directory; init_node, is_node, node_party
    session.py          Node.open and close: the lock, key ring and sealed policy; at
                        open, recovery and then retention before anything else
    audit_anchor.py     the audit log's anchor sealed in the catalog; verify_audit
    keys.py             fingerprint, change_passphrase, export_public, trust, trusted
    catalog.py          the catalog schema; Part; writing, committing, discarding parts
    transactions.py     Node.transaction(): all of a command's writes or none; Shred
    datasets.py         write_dataset, query, read_dataset, read_part; store or vault
    retention_hooks.py  what evalink.retention uses: shred, destroyed, certificates,
                        package copies (the retention logic is evalink.retention)
    recovery.py         what a killed process left: orphan part files and keys
    transfer.py         send, receive, deliver, package_notes

Every name this module held before the split is still importable from here. They are
re-exports: to replace a function for a test, patch the module that defines it; to
replace a method, patch `Node` (as the tests do).
"""

from __future__ import annotations

from evalink.node.audit_anchor import AuditAnchor
from evalink.node.catalog import _CATALOG_SCHEMA, ROW_RULE, Catalog, Part
from evalink.node.datasets import Datasets, _identifier
from evalink.node.keys import KeysAndTrust
from evalink.node.layout import (
    _POLICIES,
    NODE_FORMAT,
    STORE,
    VAULT,
    _policy_at,
    init_node,
    is_node,
    node_party,
)
from evalink.node.recovery import Recovery
from evalink.node.retention_hooks import RetentionHooks
from evalink.node.session import _LOCK_WAIT_SECONDS, Session, _acquire_lock, _release_lock
from evalink.node.transactions import (
    PENDING_OUTBOX,
    Shred,
    Transactions,
    _Transaction,
    unfinished_transactions,
)
from evalink.node.transfer import (
    _MAX_NOTES_BYTES,
    Received,
    Transfer,
    _checked_notes,
    _file_sha256,
    _Refused,
    deliver,
)


class Node(
    Session, AuditAnchor, KeysAndTrust, Catalog, Transactions, Datasets, RetentionHooks,
    Recovery, Transfer,
):
    """An opened node: one session. Use as a context manager; closing writes the signed
    audit checkpoint and releases the node's lock."""


__all__ = [
    "NODE_FORMAT",
    "PENDING_OUTBOX",
    "ROW_RULE",
    "STORE",
    "VAULT",
    "_CATALOG_SCHEMA",
    "_LOCK_WAIT_SECONDS",
    "_MAX_NOTES_BYTES",
    "_POLICIES",
    "Node",
    "Part",
    "Received",
    "Shred",
    "_Refused",
    "_Transaction",
    "_acquire_lock",
    "_checked_notes",
    "_file_sha256",
    "_identifier",
    "_policy_at",
    "_release_lock",
    "deliver",
    "init_node",
    "is_node",
    "node_party",
    "unfinished_transactions",
]
