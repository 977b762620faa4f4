"""The day evalink acts on: `evalink --today`, `EVALINK_TODAY`, or the system date."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from evalink.node import Node
from evalink.node.network import init_network
from tests.conftest import EXAMPLE_POLICY

PASSPHRASE = "synthetic test passphrase"


@pytest.fixture
def linker_dwp(tmp_path, cheap_nodes):
    """A package of identifiers from the linker, delivered to DWP and not yet received."""
    from evalink.node import deliver

    network = init_network(tmp_path / "nodes", ["linker", "dwp"], EXAMPLE_POLICY, PASSPHRASE)
    linker, dwp = network.root / "linker", network.root / "dwp"
    with Node.open(linker, PASSPHRASE) as node:
        node.send("dwp", "identifiers", pa.table({"reference_number": ["R1", "R2"],
                                                  "surname": ["Quorndon", "Vardystone"]}))
    deliver(linker, dwp)
    return dwp


def _received(dwp) -> tuple[date, date]:
    # Looking only: on the tests' own day some of these are already due.
    with Node.open(dwp, PASSPHRASE, retention=False) as node:
        (part,) = node.parts("identifiers")
    return part.received, part.destroy_by


def _entries(dwp) -> list[dict]:
    return [json.loads(line) for line in (dwp / "audit" / "log.jsonl").open()]


def test_today_sets_the_receipt_date_retention_counts_from(linker_dwp, evalink):
    result = evalink("--today", "2020-01-10", "receive", "--node", linker_dwp)

    assert result.exit_code == 0, result.output
    assert _received(linker_dwp) == (date(2020, 1, 10), date(2020, 2, 9))


def test_evalink_today_sets_it_for_a_scheduled_job(linker_dwp, evalink, monkeypatch):
    monkeypatch.setenv("EVALINK_TODAY", "2022-12-01")

    assert evalink("receive", "--node", linker_dwp).exit_code == 0

    assert _received(linker_dwp) == (date(2022, 12, 1), date(2022, 12, 31))


def test_the_option_wins_over_the_variable(linker_dwp, evalink, monkeypatch):
    monkeypatch.setenv("EVALINK_TODAY", "2022-12-01")
    assert evalink("--today", "2020-01-10", "receive", "--node", linker_dwp).exit_code == 0
    assert _received(linker_dwp)[0] == date(2020, 1, 10)


def test_the_audit_log_keeps_the_real_time_and_adds_the_effective_date(linker_dwp, evalink):
    assert evalink("--today", "2020-01-10", "receive", "--node", linker_dwp).exit_code == 0

    (entry,) = [e for e in _entries(linker_dwp) if e["action"] == "receive"]
    assert entry["effective_date"] == "2020-01-10"
    written = datetime.fromisoformat(entry["time"])
    assert abs(datetime.now(UTC) - written) < timedelta(minutes=10)
    assert evalink("audit", "verify", "--node", linker_dwp).exit_code == 0


def test_without_a_date_set_the_system_date_is_used_and_not_repeated(
    linker_dwp, evalink, monkeypatch
):
    monkeypatch.delenv("EVALINK_TODAY")
    assert evalink("receive", "--node", linker_dwp).exit_code == 0

    received, _ = _received(linker_dwp)
    assert abs(received - datetime.now(UTC).date()) <= timedelta(days=1)
    assert all("effective_date" not in e for e in _entries(linker_dwp))


@pytest.mark.parametrize("args, variable", [
    (["--today", "2022-13-01"], None),
    (["--today", "20221201"], None),
    ([], "2022-13-01"),
])
def test_a_date_that_is_not_one_is_one_line_and_changes_nothing(
    linker_dwp, evalink, monkeypatch, args, variable
):
    if variable is not None:
        monkeypatch.setenv("EVALINK_TODAY", variable)

    result = evalink(*args, "receive", "--node", linker_dwp)

    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert "is not a date (YYYY-MM-DD)" in line
    assert ("EVALINK_TODAY" in line) == (variable is not None)
    assert list((linker_dwp / "inbox").glob("*.evpkg"))  # still waiting
