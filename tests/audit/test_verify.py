"""The audit log shows any edit, deletion, insertion, reordering or truncation, and
names the first bad entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalink.audit import AuditLog, Head, verify_log
from evalink.audit.log import entry_hash

KEY = Ed25519PrivateKey.generate()


def make_log(path: Path, sessions: int = 3, per_session: int = 3) -> Head:
    """A log of several sessions, each closed by a signed checkpoint; returns the anchor."""
    head = Head(0, "")
    for session in range(sessions):
        log = AuditLog(path, party="linker", signing_key=KEY)
        for i in range(per_session):
            log.record("receive", dataset="identifiers", rows=10 * session + i, sha256="ab" * 32)
        head = log.close()
    return head


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def write(path: Path, content: list[str]) -> None:
    path.write_text("".join(content))


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, Head]:
    path = tmp_path / "log.jsonl"
    return path, make_log(path)


def check(path: Path, anchor: Head):
    return verify_log(path, KEY.public_key(), anchor)


def test_an_untouched_log_verifies(log):
    path, anchor = log
    report = check(path, anchor)
    assert report.ok and report.entries == 12 and report.checkpoints == 3


def test_an_edited_entry_is_named(log):
    path, anchor = log
    content = lines(path)
    content[4] = content[4].replace('"rows":10', '"rows":99')
    write(path, content)
    report = check(path, anchor)
    assert not report.ok and report.line == 5 and "edited" in report.problem


def test_an_edit_with_a_recomputed_hash_breaks_the_chain_at_the_next_entry(log):
    path, anchor = log
    content = lines(path)
    entry = json.loads(content[4])
    entry["details"]["rows"] = 99
    entry["hash"] = entry_hash(entry)
    content[4] = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    write(path, content)
    report = check(path, anchor)
    assert not report.ok and report.line == 6 and "does not chain" in report.problem


def test_a_rewritten_chain_fails_at_the_forged_checkpoint(log):
    """Someone recomputes every hash after an edit: the checkpoint's signature is over the
    old chain, and only the node's private key can sign a new one."""
    path, anchor = log
    entries = [json.loads(line) for line in lines(path)]
    entries[4]["details"]["rows"] = 99  # line 5, in the session closed at line 8
    prev = entries[3]["hash"]
    for entry in entries[4:]:
        entry["prev"] = prev
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
    write(path, [json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries])
    report = check(path, anchor)
    assert not report.ok and report.line == 8 and "signature" in report.problem


def test_a_deleted_entry_is_named(log):
    path, anchor = log
    content = lines(path)
    del content[5]
    write(path, content)
    report = check(path, anchor)
    assert not report.ok and report.line == 6 and "entry 6 is missing (deleted" in report.problem


def test_an_inserted_entry_is_named(log):
    path, anchor = log
    content = lines(path)
    content.insert(6, content[2])
    write(path, content)
    report = check(path, anchor)
    assert not report.ok and report.line == 7 and "inserted" in report.problem


def test_reordered_entries_are_named(log):
    path, anchor = log
    content = lines(path)
    content[5], content[6] = content[6], content[5]
    write(path, content)
    report = check(path, anchor)
    assert not report.ok and report.line == 6 and "reordered" in report.problem


def test_a_truncated_log_is_detected_by_the_nodes_sealed_anchor(log):
    path, anchor = log
    write(path, lines(path)[:8])  # ends cleanly at the second checkpoint
    report = check(path, anchor)
    assert not report.ok and "truncated" in report.problem and "entry 12" in report.problem


def test_an_emptied_log_is_detected(log):
    path, anchor = log
    write(path, [])
    report = check(path, anchor)
    assert not report.ok and "truncated" in report.problem


def test_a_garbled_line_is_named(log):
    path, anchor = log
    content = lines(path)
    content[2] = "{not json\n"
    write(path, content)
    report = check(path, anchor)
    assert not report.ok and report.line == 3


def test_a_session_without_its_checkpoint_is_a_warning(tmp_path):
    path = tmp_path / "log.jsonl"
    anchor = make_log(path, sessions=1)
    killed = AuditLog(path, party="linker", signing_key=KEY)
    killed.record("receive", dataset="identifiers", rows=1)  # never closed
    report = check(path, anchor)
    assert report.ok and len(report.warnings) == 1


def test_a_checkpoint_signed_by_another_key_is_refused(log):
    path, anchor = log
    report = verify_log(path, Ed25519PrivateKey.generate().public_key(), anchor)
    assert not report.ok and report.line == 4 and "signature" in report.problem
