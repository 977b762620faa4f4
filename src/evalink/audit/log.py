"""An append-only audit log: JSON lines chained by SHA-256, with signed checkpoints.

Each entry carries the hash of the one before it (`prev`) and its own `hash` over every
other key, so changing, removing, inserting or reordering any line breaks the chain at
that line. Chaining alone does not stop someone rewriting the whole tail with fresh
hashes, so each session ends with a checkpoint signed by the node's Ed25519 key, and the
node keeps the last checkpoint's position and hash in its encrypted store: a log cut
short or rewritten after a checkpoint no longer matches.

Entries say who did what, when, with row counts and content hashes. They never hold the
personal data itself: `record` refuses details named after a field the policy classes as
a direct identifier (the node passes `Policy.personal_fields()`), and callers pass field
names, counts and hashes only.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalink.errors import EvalinkError
from evalink.policy.enforce import IDENTIFIER_CARRIERS

GENESIS = "0" * 64
CHECKPOINT = "checkpoint"
# Logged without the node's keys (a wrong passphrase), so never followed by a checkpoint
# of its own; the next unlocked session's checkpoint covers it.
UNLOCK_FAILED = "unlock-failed"


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def checkpoint_message(party: str, seq: int, prev: str, session: str) -> bytes:
    """What a checkpoint signs: the node, the position, the hash of everything before it."""
    return f"evalink-audit-checkpoint/1|{party}|{seq}|{prev}|{session}".encode()


def utc_now() -> datetime:
    return datetime.now(UTC)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid:{os.getuid()}"


@dataclass
class Head:
    seq: int
    hash: str


def read_entries(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, raw line) for each line of the log."""
    if not path.exists():
        return
    with path.open("r", encoding="utf-8", newline="\n") as handle:
        yield from enumerate(handle, start=1)


class AuditLog:
    """One node's log. Open one per session; `close()` writes the signed checkpoint."""

    def __init__(
        self,
        path: Path,
        *,
        party: str,
        signing_key: Ed25519PrivateKey | None,
        clock: Callable[[], datetime] = utc_now,
        user: str | None = None,
        effective: Callable[[], datetime] | None = None,
        personal_fields: Collection[str] | None = None,
    ) -> None:
        self.path = path
        self.party = party
        # Who: the party and the operating-system account that ran the session.
        self.user = user if user is not None else _login_name()
        self._signing_key = signing_key
        self._clock = clock
        # The clock the node acts on (`evalink --today`): entries keep the wall-clock
        # time and add the effective date when it differs, so a dry run on 2023-01-01
        # can never pass for something done on that day.
        self._effective = effective
        # Detail keys that would carry a person's data: the policy's direct identifiers
        # and the names such values travel under (`Policy.personal_fields()`). A log
        # opened before the policy is read (a wrong passphrase) knows only the latter.
        # A guard, not a proof: the rule for callers is field names, counts, row
        # numbers and hashes only.
        self._personal_fields = (
            frozenset(personal_fields) if personal_fields is not None else IDENTIFIER_CARRIERS
        )
        self.session = secrets.token_hex(8)
        self.head = self._tail()
        self.closed = False

    def _tail(self) -> Head:
        """The last entry's position and hash. A log whose last line is unreadable is not
        repaired or refused here: appending continues the chain from the last good line
        and `verify` reports the damage."""
        last: dict[str, Any] | None = None
        for _, line in read_entries(self.path):
            try:
                candidate = json.loads(line)
                if isinstance(candidate, dict) and "seq" in candidate and "hash" in candidate:
                    last = candidate
            except json.JSONDecodeError:
                continue
        if last is None:
            return Head(0, GENESIS)
        return Head(int(last["seq"]), str(last["hash"]))

    def record(self, action: str, **details: Any) -> dict[str, Any]:
        """Append one entry: `node.audit.record("identifier-read", dataset="identifiers", rows=12)`."""
        if self.closed:
            raise EvalinkError("audit session already closed")
        bad = sorted(set(details) & self._personal_fields)
        if bad:
            raise ValueError(f"audit details may not carry personal data ({', '.join(bad)})")
        now = self._clock()
        entry = {
            "seq": self.head.seq + 1,
            "time": now.isoformat(timespec="microseconds"),
            "party": self.party,
            "user": self.user,
            "session": self.session,
            "action": action,
            "details": details,
            "prev": self.head.hash,
        }
        if self._effective is not None:
            day = self._effective().date()
            if day != now.date():
                entry["effective_date"] = day.isoformat()
        entry["hash"] = entry_hash(entry)
        line = canonical(entry) + b"\n"
        # One write() of one whole line with O_APPEND, then fsync: an entry is on disk
        # before the action it records is reported done.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.head = Head(entry["seq"], entry["hash"])
        return entry

    def checkpoint(self) -> dict[str, Any]:
        if self._signing_key is None:
            raise EvalinkError("this audit session cannot sign: the node is locked")
        seq = self.head.seq + 1
        signature = self._signing_key.sign(
            checkpoint_message(self.party, seq, self.head.hash, self.session)
        )
        return self.record(CHECKPOINT, entries=self.head.seq, signature=signature.hex())

    def close(self) -> Head:
        """End the session with a signed checkpoint; returns it as the new anchor."""
        if not self.closed:
            self.checkpoint()
            self.closed = True
        return self.head
