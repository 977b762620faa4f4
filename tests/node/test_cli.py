"""The node, transfer and audit commands, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from tests.node.conftest import EXAMPLE_POLICY, PASSPHRASE


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def two_nodes(council_linker) -> tuple[Path, Path]:
    """council and linker, trusting each other (copies of nodes made once per session)."""
    return council_linker.dirs["council"], council_linker.dirs["linker"]


def test_init_export_and_trust_through_the_cli(tmp_path: Path, evalink_cli):
    council, linker = tmp_path / "council", tmp_path / "linker"
    for directory, party in ((council, "council"), (linker, "linker")):
        result = evalink_cli("node", "init", directory, "--party", party, "--policy", EXAMPLE_POLICY)
        assert result.exit_code == 0, result.output
        assert "key fingerprint" in result.output
        assert evalink_cli("node", "export-public", directory, "--out",
                           tmp_path / f"{party}.pub.json").exit_code == 0
    assert evalink_cli("node", "trust", council, tmp_path / "linker.pub.json").exit_code == 0
    result = evalink_cli("node", "trust", linker, tmp_path / "council.pub.json")
    assert result.exit_code == 0 and "trusted 'council'" in result.output


def test_send_deliver_receive_verify_and_show(two_nodes, people, tmp_path, evalink_cli):
    council, linker = two_nodes
    extract = tmp_path / "identifiers.csv"
    pacsv.write_csv(people, extract)
    sent = evalink_cli("send", extract, "--node", council, "--to", "linker", "--dataset",
                       "identifiers")
    assert sent.exit_code == 0, sent.output
    package = Path(sent.output.strip())
    assert package.parent == council / "outbox" and package.exists()
    delivered = evalink_cli("deliver", "--from", council, "--to", linker)
    assert delivered.exit_code == 0 and package.name in delivered.output
    received = evalink_cli("receive", "--node", linker)
    assert received.exit_code == 0
    assert "imported" in received.output and "60 rows of 'identifiers' from 'council'" in received.output
    assert (linker / "inbox" / "done" / f"{package.name}.receipt.json").exists()
    listing = evalink_cli("node", "datasets", linker)
    assert "identifiers: 60 rows in 1 part(s), vault, destroy by" in listing.output
    verified = evalink_cli("audit", "verify", "--node", linker)
    assert verified.exit_code == 0 and "audit log intact" in verified.output
    shown = evalink_cli("audit", "show", "--node", linker, "--action", "receive")
    assert shown.exit_code == 0 and "dataset=identifiers" in shown.output and "rows=60" in shown.output


def test_a_wrong_passphrase_is_one_line_and_exit_2(two_nodes, evalink_cli, monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_PASSPHRASE", "certainly not the passphrase")
    assert "wrong passphrase" in one_line_error(evalink_cli("audit", "verify", "--node", council))
    # The failed attempt is in the log, and the log still verifies, without warnings.
    monkeypatch.setenv("EVALINK_PASSPHRASE", PASSPHRASE)
    verified = evalink_cli("audit", "verify", "--node", council)
    assert verified.exit_code == 0 and "warning" not in verified.output
    shown = evalink_cli("audit", "show", "--node", council, "--action", "unlock-failed")
    assert "unlock-failed" in shown.output


def test_a_field_outside_the_flow_is_refused_with_the_rule_named(two_nodes, people, tmp_path,
                                                                 evalink_cli):
    council, _ = two_nodes
    extract = tmp_path / "with-religion.csv"
    pacsv.write_csv(people.append_column("religion", people.column("sex")), extract)
    line = one_line_error(evalink_cli("send", extract, "--node", council, "--to", "linker",
                                      "--dataset", "identifiers"))
    assert "'religion'" in line and "council-identifiers-to-linker" in line
    # Never the data: no value from the file is in the message.
    assert not any(v in line for v in people.column("surname").to_pylist())


def test_a_transfer_no_flow_allows_is_refused(two_nodes, people, tmp_path, evalink_cli):
    council, _ = two_nodes
    extract = tmp_path / "identifiers.csv"
    pacsv.write_csv(people, extract)
    line = one_line_error(evalink_cli("send", extract, "--node", council, "--to", "research",
                                      "--dataset", "identifiers"))
    assert "rule" in line


def test_a_tampered_package_makes_receive_exit_2(two_nodes, people, tmp_path, evalink_cli):
    council, linker = two_nodes
    extract = tmp_path / "identifiers.csv"
    pacsv.write_csv(people, extract)
    package = Path(evalink_cli("send", extract, "--node", council, "--to", "linker",
                               "--dataset", "identifiers").output.strip())
    data = bytearray(package.read_bytes())
    data[-100] ^= 1
    package.write_bytes(bytes(data))
    evalink_cli("deliver", "--from", council, "--to", linker)
    line = one_line_error(evalink_cli("receive", "--node", linker))
    assert "signature does not verify" in line


def test_a_tampered_audit_log_makes_verify_exit_2_naming_the_line(two_nodes, evalink_cli):
    _, linker = two_nodes
    log = linker / "audit" / "log.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    del lines[2]
    log.write_text("".join(lines))
    line = one_line_error(evalink_cli("audit", "verify", "--node", linker))
    assert "line 3" in line and "deleted" in line


def test_a_directory_that_is_not_a_node_is_one_line(tmp_path, evalink_cli):
    line = one_line_error(evalink_cli("receive", "--node", tmp_path))
    assert "not an evalink node" in line


def test_a_node_cannot_be_created_over_an_existing_one(two_nodes, evalink_cli):
    council, _ = two_nodes
    line = one_line_error(evalink_cli("node", "init", council, "--party", "council", "--policy",
                                      EXAMPLE_POLICY))
    assert "already exists" in line


def test_trusting_a_changed_key_needs_replace(two_nodes, tmp_path, evalink_cli):
    council, _ = two_nodes
    other = tmp_path / "linker-2"
    evalink_cli("node", "init", other, "--party", "linker", "--policy", EXAMPLE_POLICY)
    evalink_cli("node", "export-public", other, "--out", tmp_path / "linker-2.pub.json")
    line = one_line_error(evalink_cli("node", "trust", council, tmp_path / "linker-2.pub.json"))
    assert "already trusted" in line and "--replace" in line
    assert evalink_cli("node", "trust", council, tmp_path / "linker-2.pub.json",
                       "--replace").exit_code == 0


def test_a_public_key_file_altered_in_transit_is_refused(two_nodes, tmp_path, evalink_cli):
    council, linker = two_nodes
    key_file = tmp_path / "linker.pub.json"
    assert evalink_cli("node", "export-public", linker, "--out", key_file).exit_code == 0
    key_file.write_text(key_file.read_text().replace('"party": "linker"', '"party": "dwp"'))
    assert "altered" in one_line_error(evalink_cli("node", "trust", council, key_file))


def test_without_the_environment_variable_the_passphrase_is_prompted_for(tmp_path, evalink_cli,
                                                                        monkeypatch):
    monkeypatch.delenv("EVALINK_PASSPHRASE")
    secret = "prompted passphrase 123"
    created = evalink_cli("node", "init", tmp_path / "dfe", "--party", "dfe", "--policy",
                          EXAMPLE_POLICY, input=f"{secret}\n{secret}\n")
    assert created.exit_code == 0, created.output
    assert secret not in created.output
    wrong = evalink_cli("audit", "verify", "--node", tmp_path / "dfe", input="nope nope nope\n")
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.output
    right = evalink_cli("audit", "verify", "--node", tmp_path / "dfe", input=f"{secret}\n")
    assert right.exit_code == 0 and "intact" in right.output


def test_a_truncated_log_stays_detected_after_later_sessions(two_nodes, evalink_cli):
    """Each session appends and moves the sealed anchor on: the truncation found when the
    node opens is kept, so it cannot be papered over by simply using the node."""
    _, linker = two_nodes
    log = linker / "audit" / "log.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:2]))
    for _ in range(2):
        line = one_line_error(evalink_cli("audit", "verify", "--node", linker))
        assert "cut short" in line or "truncated" in line
    assert evalink_cli("node", "datasets", linker).exit_code == 0
    assert "cut short" in one_line_error(evalink_cli("audit", "verify", "--node", linker))


def test_changing_the_passphrase_locks_out_the_old_one(two_nodes, evalink_cli, monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_NEW_PASSPHRASE", "a brand new passphrase")
    assert evalink_cli("node", "passphrase", council).exit_code == 0
    assert "wrong passphrase" in one_line_error(evalink_cli("audit", "verify", "--node", council))
    monkeypatch.setenv("EVALINK_PASSPHRASE", "a brand new passphrase")
    assert evalink_cli("audit", "verify", "--node", council).exit_code == 0


def test_a_parquet_file_can_be_sent_too(two_nodes, people, tmp_path, evalink_cli):
    import pyarrow.parquet as pq

    council, linker = two_nodes
    extract = tmp_path / "identifiers.parquet"
    pq.write_table(people, extract)
    assert evalink_cli("send", extract, "--node", council, "--to", "linker", "--dataset",
                       "identifiers").exit_code == 0
    evalink_cli("deliver", "--from", council, "--to", linker)
    received = evalink_cli("receive", "--node", linker)
    assert received.exit_code == 0 and "60 rows" in received.output
