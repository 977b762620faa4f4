"""The node, transfer and audit commands, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from tests.node.conftest import EXAMPLE_POLICY, PASSPHRASE


@pytest.fixture
def no_passphrase(monkeypatch):
    """No passphrase in the environment, as under cron or CI before anyone sets one."""
    for name in ("EVALINK_PASSPHRASE", "EVALINK_PASSPHRASE_FILE", "EVALINK_NEW_PASSPHRASE",
                 "EVALINK_NEW_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)


def passphrase_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_bytes(text.encode())
    path.chmod(mode)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*")
            if p.is_file()}


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
        result = evalink_cli("node", "init", "--node", directory, "--party", party, "--policy",
                             EXAMPLE_POLICY)
        assert result.exit_code == 0, result.output
        assert "key fingerprint" in result.output
        assert evalink_cli("node", "export-public", "--node", directory, "--out",
                           tmp_path / f"{party}.pub.json").exit_code == 0
    assert evalink_cli("node", "trust", "--node", council,
                       tmp_path / "linker.pub.json").exit_code == 0
    result = evalink_cli("node", "trust", "--node", linker, tmp_path / "council.pub.json")
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
    listing = evalink_cli("node", "datasets", "--node", linker)
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
    _flip_a_signed_byte(package)
    evalink_cli("deliver", "--from", council, "--to", linker)
    received = evalink_cli("receive", "--node", linker)
    assert received.exit_code == 2
    refused, error = received.stderr.splitlines()
    assert refused.startswith(f"refused {package.name}: ") and "signature does not verify" in refused
    assert error.startswith("error: 1 package(s) refused")


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
    line = one_line_error(evalink_cli("node", "init", "--node", council, "--party", "council",
                                      "--policy", EXAMPLE_POLICY))
    assert "already exists" in line


def test_trusting_a_changed_key_needs_replace(two_nodes, tmp_path, evalink_cli):
    council, _ = two_nodes
    other = tmp_path / "linker-2"
    evalink_cli("node", "init", "--node", other, "--party", "linker", "--policy", EXAMPLE_POLICY)
    evalink_cli("node", "export-public", "--node", other, "--out", tmp_path / "linker-2.pub.json")
    line = one_line_error(evalink_cli("node", "trust", "--node", council,
                                      tmp_path / "linker-2.pub.json"))
    assert "already trusted" in line and "--replace" in line
    assert evalink_cli("node", "trust", "--node", council, tmp_path / "linker-2.pub.json",
                       "--replace").exit_code == 0


def test_a_public_key_file_altered_in_transit_is_refused(two_nodes, tmp_path, evalink_cli):
    council, linker = two_nodes
    key_file = tmp_path / "linker.pub.json"
    assert evalink_cli("node", "export-public", "--node", linker, "--out", key_file).exit_code == 0
    key_file.write_text(key_file.read_text().replace('"party": "linker"', '"party": "dwp"'))
    assert "altered" in one_line_error(evalink_cli("node", "trust", "--node", council, key_file))


def test_on_a_terminal_without_the_variable_the_passphrase_is_prompted_for(
    tmp_path, evalink_cli, no_passphrase, monkeypatch
):
    monkeypatch.setattr("evalink.cli.passphrase.stdin_is_a_terminal", lambda: True)
    secret = "prompted passphrase 123"
    created = evalink_cli("node", "init", "--node", tmp_path / "dfe", "--party", "dfe",
                          "--policy", EXAMPLE_POLICY, input=f"{secret}\n{secret}\n")
    assert created.exit_code == 0, created.output
    assert secret not in created.output
    wrong = evalink_cli("audit", "verify", "--node", tmp_path / "dfe", input="nope nope nope\n")
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.output
    right = evalink_cli("audit", "verify", "--node", tmp_path / "dfe", input=f"{secret}\n")
    assert right.exit_code == 0 and "intact" in right.output


def test_node_init_asks_again_when_the_confirmation_differs(tmp_path, evalink_cli,
                                                           no_passphrase, monkeypatch):
    monkeypatch.setattr("evalink.cli.passphrase.stdin_is_a_terminal", lambda: True)
    secret = "prompted passphrase 123"
    created = evalink_cli("node", "init", "--node", tmp_path / "dfe", "--party", "dfe",
                          "--policy", EXAMPLE_POLICY,
                          input=f"{secret}\n{secret}x\n{secret}\n{secret}\n")
    assert created.exit_code == 0, created.output
    assert "do not match" in created.output and secret not in created.output
    monkeypatch.setenv("EVALINK_PASSPHRASE", secret)
    assert evalink_cli("audit", "verify", "--node", tmp_path / "dfe").exit_code == 0


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
    assert evalink_cli("node", "datasets", "--node", linker).exit_code == 0
    assert "cut short" in one_line_error(evalink_cli("audit", "verify", "--node", linker))


def test_changing_the_passphrase_locks_out_the_old_one(two_nodes, evalink_cli, monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_NEW_PASSPHRASE", "a brand new passphrase")
    assert evalink_cli("node", "passphrase", "--node", council).exit_code == 0
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


# --- where the passphrase comes from, without a terminal ---------------------------------


def test_without_a_passphrase_or_a_terminal_it_is_one_line_naming_the_variable(
    two_nodes, evalink_cli, no_passphrase
):
    council, _ = two_nodes
    before = snapshot(council)
    result = evalink_cli("audit", "verify", "--node", council)
    line = one_line_error(result)
    assert "EVALINK_PASSPHRASE is not set" in line and "--passphrase-file" in line
    assert "Aborted" not in result.output and "Warning" not in result.output
    assert snapshot(council) == before


def test_node_init_without_a_passphrase_or_a_terminal_creates_nothing(tmp_path, evalink_cli,
                                                                      no_passphrase):
    line = one_line_error(evalink_cli("node", "init", "--node", tmp_path / "dfe", "--party",
                                      "dfe", "--policy", EXAMPLE_POLICY))
    assert "EVALINK_PASSPHRASE" in line
    assert not (tmp_path / "dfe").exists()


def test_an_empty_variable_counts_as_unset_and_is_said_to_be_empty(two_nodes, evalink_cli,
                                                                   no_passphrase, monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_PASSPHRASE", "")
    line = one_line_error(evalink_cli("receive", "--node", council))
    assert "EVALINK_PASSPHRASE is empty" in line


def test_the_passphrase_can_come_from_a_file_given_after_the_command(two_nodes, tmp_path,
                                                                     evalink_cli, no_passphrase):
    council, _ = two_nodes
    secret = passphrase_file(tmp_path / "pass", PASSPHRASE + "\n")
    result = evalink_cli("audit", "verify", "--node", council, "--passphrase-file", secret)
    assert result.exit_code == 0 and "intact" in result.output
    assert PASSPHRASE not in result.output


def test_the_passphrase_file_can_be_given_before_the_command(two_nodes, tmp_path, evalink_cli,
                                                             no_passphrase):
    council, _ = two_nodes
    secret = passphrase_file(tmp_path / "pass", PASSPHRASE)
    result = evalink_cli("--passphrase-file", secret, "node", "datasets", "--node", council)
    assert result.exit_code == 0, result.output


def test_a_passphrase_file_wins_over_the_variable(two_nodes, tmp_path, evalink_cli, monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_PASSPHRASE", "certainly not the passphrase")
    secret = passphrase_file(tmp_path / "pass", PASSPHRASE)
    assert evalink_cli("audit", "verify", "--node", council,
                       "--passphrase-file", secret).exit_code == 0


def test_evalink_passphrase_file_is_read_when_the_variable_is_unset(two_nodes, tmp_path,
                                                                    evalink_cli, no_passphrase,
                                                                    monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_PASSPHRASE_FILE", str(passphrase_file(tmp_path / "pass",
                                                                      PASSPHRASE + "\r\n")))
    assert evalink_cli("audit", "verify", "--node", council).exit_code == 0


def test_the_variable_wins_over_evalink_passphrase_file(two_nodes, tmp_path, evalink_cli,
                                                        monkeypatch):
    council, _ = two_nodes
    monkeypatch.setenv("EVALINK_PASSPHRASE_FILE", str(tmp_path / "no-such-file"))
    assert evalink_cli("audit", "verify", "--node", council).exit_code == 0


def test_only_one_trailing_newline_is_stripped_from_a_passphrase_file(two_nodes, tmp_path,
                                                                      evalink_cli, no_passphrase):
    council, _ = two_nodes
    secret = passphrase_file(tmp_path / "pass", PASSPHRASE + "\n\n")
    line = one_line_error(evalink_cli("audit", "verify", "--node", council,
                                      "--passphrase-file", secret))
    assert "wrong passphrase" in line


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o606, 0o620], ids=oct)
def test_a_passphrase_file_others_may_read_or_change_is_refused(two_nodes, tmp_path, evalink_cli,
                                                                no_passphrase, mode):
    council, _ = two_nodes
    before = snapshot(council)
    secret = passphrase_file(tmp_path / "pass", PASSPHRASE, mode=mode)
    result = evalink_cli("audit", "verify", "--node", council, "--passphrase-file", secret)
    line = one_line_error(result)
    assert f"chmod 600 {secret}" in line and PASSPHRASE not in result.output
    assert snapshot(council) == before


def test_a_missing_passphrase_file_is_one_line(two_nodes, tmp_path, evalink_cli, no_passphrase):
    council, _ = two_nodes
    line = one_line_error(evalink_cli("audit", "verify", "--node", council,
                                      "--passphrase-file", tmp_path / "nowhere"))
    assert "--passphrase-file" in line and "cannot read" in line


@pytest.mark.parametrize("text", ["", "\n", "\r\n"])
def test_an_empty_passphrase_file_is_refused(two_nodes, tmp_path, evalink_cli, no_passphrase,
                                             text):
    council, _ = two_nodes
    secret = passphrase_file(tmp_path / "pass", text)
    line = one_line_error(evalink_cli("audit", "verify", "--node", council,
                                      "--passphrase-file", secret))
    assert "is empty" in line


def test_two_different_passphrase_files_are_refused(two_nodes, tmp_path, evalink_cli,
                                                    no_passphrase):
    council, _ = two_nodes
    first = passphrase_file(tmp_path / "one", PASSPHRASE)
    second = passphrase_file(tmp_path / "two", PASSPHRASE)
    line = one_line_error(evalink_cli("--passphrase-file", first, "audit", "verify", "--node",
                                      council, "--passphrase-file", second))
    assert "given twice" in line


def test_node_init_takes_the_passphrase_file_without_prompting(tmp_path, evalink_cli,
                                                               no_passphrase, monkeypatch):
    # A terminal is there, but a file is given: nothing is asked (no input would answer).
    monkeypatch.setattr("evalink.cli.passphrase.stdin_is_a_terminal", lambda: True)
    secret = passphrase_file(tmp_path / "pass", PASSPHRASE + "\n")
    created = evalink_cli("node", "init", "--node", tmp_path / "dfe", "--party", "dfe",
                          "--policy", EXAMPLE_POLICY, "--passphrase-file", secret)
    assert created.exit_code == 0, created.output
    assert "passphrase:" not in created.output.lower()
    assert evalink_cli("audit", "verify", "--node", tmp_path / "dfe",
                       "--passphrase-file", secret).exit_code == 0


def test_the_new_passphrase_can_come_from_a_file(two_nodes, tmp_path, evalink_cli, monkeypatch):
    council, _ = two_nodes
    new = passphrase_file(tmp_path / "new", "a brand new passphrase\n")
    result = evalink_cli("node", "passphrase", "--node", council, "--new-passphrase-file", new)
    assert result.exit_code == 0, result.output
    assert "a brand new passphrase" not in result.output
    monkeypatch.setenv("EVALINK_PASSPHRASE", "a brand new passphrase")
    assert evalink_cli("audit", "verify", "--node", council).exit_code == 0


def test_without_a_new_passphrase_or_a_terminal_the_old_one_stays(two_nodes, evalink_cli,
                                                                  monkeypatch):
    council, _ = two_nodes
    monkeypatch.delenv("EVALINK_NEW_PASSPHRASE", raising=False)
    monkeypatch.delenv("EVALINK_NEW_PASSPHRASE_FILE", raising=False)
    before = snapshot(council)
    line = one_line_error(evalink_cli("node", "passphrase", "--node", council))
    assert "EVALINK_NEW_PASSPHRASE is not set" in line and "--new-passphrase-file" in line
    assert snapshot(council) == before


def test_node_init_help_states_the_minimum_passphrase_length(evalink_cli):
    from evalink.node.keyring import MIN_PASSPHRASE_LENGTH

    result = evalink_cli("node", "init", "--help")
    text = " ".join(result.output.replace("│", " ").split())
    assert f"at least {MIN_PASSPHRASE_LENGTH} characters" in text


# --- the node is --node DIR everywhere -----------------------------------------------------


def test_the_old_positional_node_directory_still_works(two_nodes, tmp_path, evalink_cli):
    council, linker = two_nodes
    key = tmp_path / "linker.pub.json"
    assert evalink_cli("node", "export-public", linker, "--out", key).exit_code == 0
    assert evalink_cli("node", "trust", council, key, "--replace").exit_code == 0
    assert evalink_cli("node", "datasets", council).exit_code == 0


@pytest.mark.parametrize("command", ["init", "export-public", "trust", "passphrase", "datasets"])
def test_node_commands_show_only_the_node_option_in_help(evalink_cli, command):
    result = evalink_cli("node", command, "--help")
    assert result.exit_code == 0
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "legacy" not in result.output.lower() and "directory}" not in usage.lower()
    assert "--node" in result.output


def test_two_different_node_directories_are_refused(two_nodes, evalink_cli):
    council, linker = two_nodes
    result = evalink_cli("node", "datasets", council, "--node", linker)
    line = one_line_error(result)
    assert "--node" in line and "see `evalink node datasets --help`" in line


def test_a_node_command_without_a_node_names_the_option(evalink_cli):
    line = one_line_error(evalink_cli("node", "datasets"))
    assert line == "error: missing option '--node' (see `evalink node datasets --help`)"


# --- receive names every package it refuses -------------------------------------------


def test_receive_names_every_refused_package_and_why(two_nodes, people, tmp_path, evalink_cli):
    council, linker = two_nodes
    extract = tmp_path / "identifiers.csv"
    pacsv.write_csv(people, extract)
    packages = [
        Path(evalink_cli("send", extract, "--node", council, "--to", "linker", "--dataset",
                         "identifiers").output.strip())
        for _ in range(3)
    ]
    for package in packages[:2]:
        _flip_a_signed_byte(package)
    evalink_cli("deliver", "--from", council, "--to", linker)
    received = evalink_cli("receive", "--node", linker)
    assert received.exit_code == 2
    *refusals, error = received.stderr.splitlines()
    assert [r.split(": ", 1)[0] for r in refusals] == [f"refused {p.name}"
                                                       for p in sorted(packages[:2])]
    assert all(r.split(": ", 1)[1].startswith("signature does not verify") for r in refusals)
    assert error.startswith("error: 2 package(s) refused; ")
    assert f"imported {packages[2].name}" in received.stdout
    assert not any(v in received.output for v in people.column("surname").to_pylist())


# --- assemble --allow-missing --------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, parties",
    [
        ([], []),
        (["--allow-missing", "moj"], ["moj"]),
        (["--allow-missing", "moj,dfe"], ["moj", "dfe"]),
        (["--allow-missing", "moj", "--allow-missing", " dfe ,dwp"], ["moj", "dfe", "dwp"]),
    ],
)
def test_assemble_passes_each_department_allowed_missing_to_the_stage(
    council_linker, evalink_cli, monkeypatch, flags, parties
):
    import evalink.assemble
    from evalink.errors import InputError

    seen = {}

    def assemble(node, project, to="research", allow_missing=()):
        seen.update(project=project, to=to, allow_missing=list(allow_missing))
        raise InputError("stopped by the test")

    monkeypatch.setattr(evalink.assemble, "assemble", assemble)
    result = evalink_cli("assemble", "--node", council_linker.dirs["linker"], "--project", "p1",
                         *flags)
    assert "stopped by the test" in one_line_error(result)
    assert seen == {"project": "p1", "to": "research", "allow_missing": parties}


NODE_COMMANDS = [
    ["send"], ["receive"], ["share"], ["dispatch"], ["match"], ["assemble"], ["export"],
    ["identify"], ["identify", "explain"], ["audit", "verify"], ["audit", "show"],
    ["node", "init"], ["node", "export-public"], ["node", "trust"], ["node", "passphrase"],
    ["node", "datasets"],
]


@pytest.mark.parametrize("command", NODE_COMMANDS, ids=" ".join)
def test_every_command_that_opens_a_node_takes_a_passphrase_file(evalink_cli, command):
    result = evalink_cli(*command, "--help")
    assert result.exit_code == 0 and "--passphrase-file" in result.output


def _flip_a_signed_byte(package: Path) -> None:
    """Alter one byte near the end of a package: its signature no longer verifies."""
    data = bytearray(package.read_bytes())
    data[-100] ^= 1
    package.write_bytes(bytes(data))
