"""A node's session: opening one (the lock, the key ring, the sealed policy; then
whatever a killed process left is finished and what is due is destroyed) and closing
it (the signed audit checkpoint and its anchor, then the lock released).

Mixed into `Node` (node.py), where the other mixins find what `__init__` sets up here:
`dir`, `policy`, `party`, `keyring`, `audit`, `_con` (the connection holding the
encrypted catalog), `_clock` and `_transaction`.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from evalink.audit import AuditLog
from evalink.audit.log import UNLOCK_FAILED
from evalink.clock import clock_on, today_from_environment
from evalink.errors import EvalinkError
from evalink.node.catalog import _CATALOG_SCHEMA
from evalink.node.keyring import KeyRing, WrongPassphrase
from evalink.node.layout import _policy_at, node_party
from evalink.node.store import attach, connect
from evalink.policy import Policy

if TYPE_CHECKING:
    from evalink.node.node import Node
    from evalink.node.transactions import _Transaction

_LOCK_WAIT_SECONDS = 30


class Session:
    """Opening and closing a node: `Node.open(...)` as a context manager."""

    def __init__(
        self, directory: Path, policy: Policy, ring: KeyRing, lock: Any,
        clock: Callable[[], datetime], *, retention: bool = True,
    ) -> None:
        self.dir = directory
        self.policy = policy
        self.party = str(ring.config["party"])
        self.keyring = ring
        self._lock = lock
        self._clock = clock
        self._con = connect(directory / "tmp")
        attach(self._con, directory / "store" / "catalog.duckdb", ring.store_key, "catalog")
        self._con.execute(_CATALOG_SCHEMA)
        self.audit = AuditLog(
            directory / "audit" / "log.jsonl", party=self.party, signing_key=ring.signing_key,
            effective=clock, personal_fields=policy.personal_fields(),
        )
        self._closed = False
        self._transaction: _Transaction | None = None
        self._check_anchor()
        self._finish_transactions()
        self._recover()
        if retention:
            # Before anything else happens in the session: nothing outlives its date
            # because nobody ran a job.
            from evalink.retention.run import run as run_retention

            run_retention(self)

    @classmethod
    def open(
        cls, directory: Path | str, passphrase: str, *,
        clock: Callable[[], datetime] | None = None, retention: bool = True,
    ) -> Node:
        """Open a session. `clock`: the day the session acts on (default: EVALINK_TODAY,
        else the system's). Due parts are destroyed first unless `retention` is False —
        for commands that only look (`retention status`, `retention run --dry-run`)."""
        directory = Path(directory)
        clock = clock or clock_on(today_from_environment())
        party = node_party(directory)
        lock = _acquire_lock(directory)
        try:
            try:
                ring = KeyRing.unlock(directory / "keys" / "keyring.json", passphrase)
            except WrongPassphrase:
                # Failed attempts are evidence too; the entry is sealed by the next
                # checkpoint an unlocked session writes.
                AuditLog(directory / "audit" / "log.jsonl", party=party, signing_key=None,
                         effective=clock).record(UNLOCK_FAILED)
                raise
            if ring.config.get("party") != party:
                raise EvalinkError(
                    f"{directory}: node.json names party '{party}' but the key ring was made "
                    f"for '{ring.config.get('party')}' (altered)"
                )
            policy = _policy_at(directory / "policy.yaml")
            if policy.fingerprint != ring.config.get("policy_fingerprint"):
                raise EvalinkError(
                    f"{directory}/policy.yaml has changed since the node was created "
                    f"(fingerprint {policy.fingerprint[:12]}…, sealed "
                    f"{str(ring.config.get('policy_fingerprint'))[:12]}…); refusing to run "
                    "under an unsealed policy"
                )
            policy.party(party)
            return cls(directory, policy, ring, lock, clock, retention=retention)
        except BaseException:
            _release_lock(lock)
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with contextlib.suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
            if self.audit.head.seq != self._anchor().seq:
                head = self.audit.close()
                self._con.execute(
                    "INSERT OR REPLACE INTO catalog.audit_anchor VALUES (1, ?, ?)",
                    [head.seq, head.hash],
                )
            self._con.close()
        finally:
            _release_lock(self._lock)

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def today(self) -> date:
        return self._clock().date()


def _acquire_lock(directory: Path) -> Any:
    """One session at a time per node: two writers would interleave the audit chain."""
    handle = (directory / ".lock").open("a")
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise EvalinkError(f"{directory}: node is busy (another evalink is using it)") from None
            time.sleep(0.1)


def _release_lock(handle: Any) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()
