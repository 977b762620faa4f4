"""Checking a node's audit log: the chain, the checkpoints' signatures, the anchor.

The first problem found is named by line and sequence number, with the kind of
tampering it most likely is; verification stops there, because every later hash depends
on the broken one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evalink.audit.log import (
    CHECKPOINT,
    GENESIS,
    UNLOCK_FAILED,
    Head,
    checkpoint_message,
    entry_hash,
    read_entries,
)


@dataclass
class Report:
    ok: bool
    entries: int = 0
    checkpoints: int = 0
    problem: str | None = None
    line: int | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            text = f"audit log intact: {self.entries} entries, {self.checkpoints} signed checkpoints"
            return text + (f" ({len(self.warnings)} warnings)" if self.warnings else "")
        return f"audit log tampered: {self.problem}"


def verify_log(
    path: Path,
    public_key: Ed25519PublicKey,
    anchor: Head | None = None,
    *,
    current_session: str | None = None,
) -> Report:
    """Verify the log at `path`. `anchor` is the last checkpoint the node recorded in its
    encrypted store; without it, a log cut short after its last checkpoint would pass.
    `current_session` (the verifying session itself) is not reported as unclosed."""
    report = Report(ok=True)
    prev_hash, prev_seq = GENESIS, 0
    sessions_open: dict[str, int] = {}
    seen_anchor = anchor is None or anchor.seq == 0

    def fail(line: int, seq: Any, text: str) -> Report:
        report.ok = False
        report.line = line
        where = f"line {line}" + (f" (entry {seq})" if seq is not None else "")
        report.problem = f"first bad entry at {where}: {text}"
        return report

    for number, raw in read_entries(path):
        try:
            entry = json.loads(raw)
            if not isinstance(entry, dict):
                raise ValueError
            seq = int(entry["seq"])
            stored_hash = str(entry["hash"])
            prev = str(entry["prev"])
            action = str(entry["action"])
            session = str(entry["session"])
        except (ValueError, KeyError, TypeError):
            return fail(number, None, "not a well-formed entry (edited or corrupted)")
        if entry_hash(entry) != stored_hash:
            return fail(number, seq, "content does not match its hash (edited)")
        if seq != prev_seq + 1:
            if seq <= prev_seq:
                return fail(number, seq, f"follows entry {prev_seq} (reordered or inserted)")
            return fail(number, seq, f"entry {prev_seq + 1} is missing (deleted or reordered)")
        if prev != prev_hash:
            return fail(
                number, seq, f"does not chain to entry {prev_seq} (inserted, deleted or rewritten)"
            )
        if action == CHECKPOINT:
            details = entry.get("details") or {}
            try:
                public_key.verify(
                    bytes.fromhex(str(details.get("signature", ""))),
                    checkpoint_message(str(entry["party"]), seq, prev, session),
                )
            except (InvalidSignature, ValueError):
                return fail(number, seq, "checkpoint signature is not the node's (forged)")
            report.checkpoints += 1
            sessions_open.pop(session, None)
        elif action != UNLOCK_FAILED:
            sessions_open.setdefault(session, number)
        if anchor is not None and seq == anchor.seq:
            if stored_hash != anchor.hash:
                return fail(number, seq, "differs from the node's sealed checkpoint (rewritten)")
            seen_anchor = True
        prev_hash, prev_seq = stored_hash, seq
        report.entries += 1

    if not seen_anchor:
        assert anchor is not None
        return fail(
            report.entries,
            prev_seq,
            f"log ends at entry {prev_seq} but the node's sealed checkpoint is entry "
            f"{anchor.seq} (truncated)",
        )
    for session, line in sessions_open.items():
        if session == current_session:
            continue
        report.warnings.append(
            f"session {session} (from line {line}) has no closing checkpoint "
            "(interrupted, or still running)"
        )
    return report
