"""A party's node: a directory holding its store, identifier vault, keys, inbox, outbox
and audit log. The same code runs every party; the policy says what each may do.

    DIR/
      node.json              party, policy fingerprint, public keys (nothing secret)
      policy.yaml            the policy this node enforces (sealed by fingerprint)
      keys/keyring.json      wrapped keys (see keyring.py); hold apart from data backups
      store/catalog.duckdb   encrypted (store key): what is held, trusted keys, packages
                             received, audit anchor — names, counts and hashes only
      store/parts/*.duckdb   the main store's data, one encrypted file per part
      vault/parts/*.duckdb   the identifier vault's data, keys wrapped by the vault key
      inbox/  inbox/done/  inbox/refused/  outbox/  outbox/sent/
      audit/log.jsonl        hash-chained, checkpoint-signed
      tmp/                   DuckDB's spill files, encrypted

Why one encrypted DuckDB file per dataset *part* (each write or each received package)
rather than one database: DuckDB encrypts a database under a single key, and
crypto-shredding needs the data of one dataset — and one receipt, since retention
counts from the date each package arrived — under a key of its own. Destroying that key
makes the part unreadable in every copy. The catalog is the commit point: a part exists
once its catalog row is committed, so an import killed half-way leaves only an orphan
file and key, removed at the next open, and the package waits in the inbox for a retry.

This module: the names of that layout, making a node (`init_node`), telling a node
directory from anything else (`is_node`, `node_party`) and loading its policy. The
`Node` class that opens one is assembled in node.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from evalink.clock import clock_on, today_from_environment
from evalink.errors import InputError
from evalink.files import write_text_atomic
from evalink.node.catalog import _CATALOG_SCHEMA
from evalink.node.keyring import KeyRing
from evalink.node.store import attach, connect
from evalink.policy import Policy, load_policy, parse_policy

NODE_FORMAT = "evalink-node/1"
STORE, VAULT = "store", "vault"


def is_node(directory: Path) -> bool:
    return (directory / "node.json").is_file()


def node_party(directory: Path) -> str:
    """The party a node serves, from its (public) node.json."""
    try:
        return str(json.loads((directory / "node.json").read_text(encoding="utf-8"))["party"])
    except (OSError, ValueError, KeyError) as error:
        raise InputError(
            f"{directory}: not an evalink node ({type(error).__name__}); "
            "create one with `evalink node init`"
        ) from None


def init_node(
    directory: Path | str, *, party: str, policy_path: Path | str, passphrase: str,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Create a node. Built in a temporary directory beside DIR and renamed into place,
    so a failed init leaves nothing half-made."""
    directory = Path(directory)
    clock = clock or clock_on(today_from_environment())
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory}: already exists and is not empty")
    policy = _policy_at(Path(policy_path))
    party_spec = policy.party(party)
    policy_text = Path(policy_path).read_text(encoding="utf-8")
    directory.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{directory.name}.init-", dir=directory.parent))
    try:
        for sub in ("keys", "store/parts", "inbox/done", "inbox/refused", "outbox/sent",
                    "audit", "tmp"):
            (build / sub).mkdir(parents=True, exist_ok=True)
        if party_spec.holds_identifiers:
            (build / "vault/parts").mkdir(parents=True)
        write_text_atomic(build / "policy.yaml", policy_text)
        created = clock().isoformat(timespec="seconds")
        config = {
            "party": party,
            "policy_id": policy.id,
            "policy_fingerprint": policy.fingerprint,
            "node_id": secrets.token_hex(8),
            "created": created,
        }
        ring = KeyRing.create(build / "keys" / "keyring.json", passphrase, config)
        node_json = {
            "format": NODE_FORMAT,
            "party": party,
            "policy_id": policy.id,
            "policy_version": policy.version,
            "policy_fingerprint": policy.fingerprint,
            "vault": party_spec.holds_identifiers,
            "created": created,
            "public": ring.public_keys(),
        }
        write_text_atomic(build / "node.json", json.dumps(node_json, indent=1) + "\n")
        con = connect(build / "tmp")
        try:
            attach(con, build / "store" / "catalog.duckdb", ring.store_key, "catalog")
            con.execute(_CATALOG_SCHEMA)
        finally:
            con.close()
        if directory.exists():
            directory.rmdir()
        os.rename(build, directory)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    os.chmod(directory, 0o700)
    from evalink.node.node import Node  # assembled there, from modules that import this one

    with Node.open(directory, passphrase, clock=clock) as node:
        node.audit.record(
            "node-init",
            policy_id=policy.id,
            policy_version=policy.version,
            policy_fingerprint=policy.fingerprint,
            key_fingerprint=node.fingerprint,
            vault=party_spec.holds_identifiers,
        )
        return {"party": party, "fingerprint": node.fingerprint, "vault": party_spec.holds_identifiers}


_POLICIES: dict[str, Policy] = {}


def _policy_at(path: Path) -> Policy:
    """Load a policy, parsing each distinct text once per process: every command opens
    its node, and a process running several nodes (tests, the demo) opens many."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return load_policy(path)  # for its error message
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _POLICIES:
        _POLICIES[key] = parse_policy(text, source=str(path))
    return _POLICIES[key]
