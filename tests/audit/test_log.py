"""What an audit entry may hold: field names, counts and hashes — never a detail named
after a field the policy classes as a direct identifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalink.audit import AuditLog
from tests.policy.identifier_variants import policy_renaming


def log_under(path: Path, policy=None) -> AuditLog:
    fields = policy.personal_fields() if policy is not None else None
    return AuditLog(path / "log.jsonl", party="linker", signing_key=None, personal_fields=fields)


def test_a_detail_named_after_a_direct_identifier_is_refused(tmp_path, example_policy):
    with pytest.raises(ValueError, match=r"may not carry personal data \(surname\)"):
        log_under(tmp_path, example_policy).record("receive", surname="Smith")
    assert not (tmp_path / "log.jsonl").exists()


def test_field_names_and_counts_are_recorded(tmp_path, example_policy):
    entry = log_under(tmp_path, example_policy).record(
        "receive", dataset="identifiers", fields=["surname", "dob"], rows=12
    )
    assert entry["details"] == {"dataset": "identifiers", "fields": ["surname", "dob"], "rows": 12}


def test_the_log_refuses_an_identifier_under_the_name_the_policy_gives_it(tmp_path):
    log = log_under(tmp_path, policy_renaming("nino", "ni_number"))
    with pytest.raises(ValueError, match="ni_number"):
        log.record("receive", ni_number="QQ123456C")
    # No list of its own: a name the policy no longer uses is only a word.
    assert log.record("receive", nino="counted")["details"] == {"nino": "counted"}


def test_a_log_opened_before_the_policy_is_read_still_refuses_a_value(tmp_path):
    with pytest.raises(ValueError, match="value"):
        log_under(tmp_path).record("unlock-failed", value="Smith")
