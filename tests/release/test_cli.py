"""The airlock's rules, each as a user meets them at the command line."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from tests.release.conftest import (
    KEY_PASSPHRASE,
    SAFE_BY_AREA,
    SAFE_BY_YEAR,
    World,
    one_line_error,
)


def request(world: World, cli, *files: Path, author: str = "alice", extra: tuple = ()) -> str:
    result = cli("release", "request", "--node", world.research, "--files", *files,
                 "--reason", "Tables 2 and 3 of the final report", "--author", author, *extra)
    assert result.exit_code == 0, result.output
    return re.match(r"request (\S+):", result.output).group(1)


def submitted(world: World, cli, *files: Path, drawn_from: dict | None = None) -> str:
    """A request by alice, submitted (set up through the Python API: fewer node opens)."""
    from evalink.release import new_request, submit

    with world.open("research") as node:
        made = new_request(node, files, reason="Tables 2 and 3 of the final report",
                           author="alice", drawn_from=drawn_from)
        submit(node, made.id, author="alice")
    return made.id


def reviewer_key(world: World, who: str):
    from evalink.release import load_reviewer_key

    return load_reviewer_key(world.key(who), KEY_PASSPHRASE)


def decide(world: World, cli, request_id: str, who: str, file: str, decision: str = "approve"):
    return cli("release", "review", "--node", world.research, "--request", request_id,
               "--file", file, "--decision", decision, "--reason", f"{who} checked every cell",
               "--key", world.key(who))


def review(world: World, request_id: str, *reviewers: str, decision: str = "approve") -> None:
    """Each reviewer decides on every file and submits their review."""
    from evalink.release import review as decide_on
    from evalink.release import submit_review

    with world.open("research") as node:
        for who in reviewers:
            key = reviewer_key(world, who)
            decide_on(node, request_id, None, decision, f"{who} checked every cell", key)
            submit_review(node, request_id, key)


def show(world: World, cli, request_id: str, *, as_: str | None = None, fmt: str = "json"):
    key = ("--key", world.key(as_)) if as_ else ()
    result = cli("release", "show", "--node", world.research, "--request", request_id,
                 "--format", fmt, *key)
    assert result.exit_code == 0, result.output
    return result


def approved(world: World, cli, *files: Path, drawn_from: dict | None = None) -> str:
    from evalink.release import approve

    request_id = submitted(world, cli, *files, drawn_from=drawn_from)
    review(world, request_id, "bob", "carol")
    with world.open("research") as node:
        approve(node, request_id, reviewer_key(world, "bob"))
    return request_id


def publish(world: World, cli, request_id: str):
    return cli("release", "publish", "--node", world.research, "--request", request_id)


def audit(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "audit" / "log.jsonl").read_text().splitlines()]


# --- requests ----------------------------------------------------------------------

def test_a_request_copies_each_file_into_the_airlock_under_its_sha256(world, cli):
    table = world.tables.add("by_area", SAFE_BY_AREA)
    request_id = request(world, cli, table)
    shown = json.loads(show(world, cli, request_id).output)
    sha = hashlib.sha256(table.read_bytes()).hexdigest()
    assert shown["state"] == "pending" and shown["author"] == "alice"
    assert shown["files"][0] == {
        "file": "by_area.csv", "sha256": sha, "size": len(table.read_bytes()), "kind": "table",
        "passed": True, "problems": [], "drawn_from": [],
        "summary": {"cells": 9, "published": 7, "suppressed_primary": 1,
                    "suppressed_secondary": 1, "rules": {"threshold": 1, "secondary": 1}},
        "approvals": 0,
    }
    assert (world.research / "airlock" / "files" / sha).read_bytes() == table.read_bytes()


def test_files_after_files_are_all_in_the_request(world, cli):
    area, year = world.tables.add("by_area", SAFE_BY_AREA), world.tables.add("by_year", SAFE_BY_YEAR)
    shown = json.loads(show(world, cli, request(world, cli, area, year)).output)
    assert [f["file"] for f in shown["files"]] == ["by_area.csv", "by_year.csv"]


def test_a_checks_file_is_refused_from_any_request(world, cli):
    world.tables.add("by_area", SAFE_BY_AREA)
    result = cli("release", "request", "--node", world.research, "--files",
                 world.tables.folder / "by_area.checks.csv", "--reason", "all of it")
    assert "no-checks-files" in one_line_error(result)
    assert not (world.research / "airlock" / "requests").exists()
    assert audit(world.research)[-2]["details"] == {"operation": "release-request",
                                                    "rule": "no-checks-files"}


def test_a_csv_not_made_by_evalink_table_cannot_be_submitted(world, cli):
    table = world.tables.add("by_hand", SAFE_BY_AREA, register=False)
    request_id = request(world, cli, table)
    shown = json.loads(show(world, cli, request_id).output)
    assert shown["files"][0]["passed"] is False
    assert "table register" in shown["files"][0]["problems"][0]
    result = cli("release", "submit", "--node", world.research, "--request", request_id,
                 "--author", "alice")
    assert "checks-passed" in one_line_error(result)


def test_a_chart_is_checked_through_the_tables_it_is_drawn_from(world, cli, tmp_path):
    table = world.tables.add("by_area", SAFE_BY_AREA)
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG synthetic chart")
    alone = json.loads(show(world, cli, request(world, cli, chart)).output)
    assert alone["files"][0]["passed"] is False and "--drawn-from" in alone["files"][0]["problems"][0]
    drawn = request(world, cli, table, chart, extra=("--drawn-from", "chart.png=by_area.csv"))
    files = {f["file"]: f for f in json.loads(show(world, cli, drawn).output)["files"]}
    assert files["chart.png"]["passed"] and files["chart.png"]["drawn_from"] == ["by_area.csv"]


def test_a_chart_drawn_from_an_unchecked_table_fails_its_check(world, cli, tmp_path):
    table = world.tables.add("by_hand", SAFE_BY_AREA, register=False)
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG synthetic chart")
    request_id = request(world, cli, table, chart, extra=("--drawn-from", "chart.png=by_hand.csv"))
    files = {f["file"]: f for f in json.loads(show(world, cli, request_id).output)["files"]}
    assert not files["chart.png"]["passed"]
    assert files["chart.png"]["problems"] == ["drawn from 'by_hand.csv', which did not pass its checks"]


# --- the author cannot review --------------------------------------------------------

def test_the_author_cannot_review_with_a_key_bound_to_their_name(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    line = one_line_error(decide(world, cli, request_id, "alice", "by_area.csv"))
    assert "author never reviews" in line and "author-never-reviews" in line
    assert audit(world.research)[-2]["details"]["rule"] == "author-never-reviews"


def test_the_author_cannot_review_with_the_key_they_named_as_theirs(world, cli):
    table = world.tables.add("by_area", SAFE_BY_AREA)
    result = cli("release", "request", "--node", world.research, "--files", table, "--reason",
                 "Table 2", "--author-key", world.pub("bob"))
    request_id = re.match(r"request (\S+):", result.output).group(1)
    assert "author bob" in result.output
    assert cli("release", "submit", "--node", world.research, "--request", request_id,
               "--author", "bob").exit_code == 0
    assert "author-never-reviews" in one_line_error(decide(world, cli, request_id, "bob", "by_area.csv"))


# --- two reviewers -----------------------------------------------------------------

def test_a_single_approval_does_not_release(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    review(world, request_id, "bob")
    assert json.loads(show(world, cli, request_id).output)["state"] == "partially_reviewed"
    result = cli("release", "approve", "--node", world.research, "--request", request_id,
                 "--key", world.key("carol"))
    assert "cannot become approved" in one_line_error(result)
    assert "cannot become released" in one_line_error(publish(world, cli, request_id))
    assert not list((world.research / "outbox").glob("*.evpkg"))


def test_a_reviewer_cannot_review_twice_as_the_second_reviewer(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    review(world, request_id, "bob")
    assert "submitted their review already" in one_line_error(
        decide(world, cli, request_id, "bob", "by_area.csv"))


def test_a_reviewer_cannot_read_the_others_decision_before_submitting_their_own(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    review(world, request_id, "bob", decision="return")
    assert decide(world, cli, request_id, "carol", "by_area.csv").exit_code == 0
    as_carol = show(world, cli, request_id, as_="carol", fmt="table").output
    assert "bob checked every cell" not in as_carol and "return" not in as_carol
    assert "1 decision(s) hidden until both reviews are in" in as_carol
    assert "carol checked every cell" in as_carol
    for anyone in (show(world, cli, request_id, fmt="table").output,
                   cli("release", "list", "--node", world.research, "--key", world.key("carol")).output):
        assert "checked every cell" not in anyone and "return" not in anyone
    sealed = (world.research / "airlock" / "requests" / f"{request_id}.sealed").read_bytes()
    assert b"checked every cell" not in sealed and b"return" not in sealed
    assert not any("return" in json.dumps(e["details"]) for e in audit(world.research))
    assert cli("release", "submit-review", "--node", world.research, "--request", request_id,
               "--key", world.key("carol")).exit_code == 0
    after = show(world, cli, request_id, as_="carol", fmt="table").output
    assert "by_area.csv: return — bob checked every cell" in after
    assert "by_area.csv: approve — carol checked every cell" in after


def test_an_unknown_reviewer_is_one_line(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    line = one_line_error(decide(world, cli, request_id, "dave", "by_area.csv"))
    assert line.startswith("error: unknown reviewer: the key of 'dave'")


def test_an_unknown_request_is_one_line(world, cli):
    result = cli("release", "show", "--node", world.research, "--request", "20200601-0000")
    assert one_line_error(result).startswith("error: unknown request '20200601-0000'")
    result = cli("release", "review", "--node", world.research, "--request", "../reviewers",
                 "--file", "x.csv", "--decision", "approve", "--reason", "x", "--key", world.key("bob"))
    assert one_line_error(result).startswith("error: unknown request")


def test_an_unknown_file_is_one_line(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    line = one_line_error(decide(world, cli, request_id, "bob", "by_sex.csv"))
    assert line == f"error: request {request_id} has no file 'by_sex.csv' (its files: by_area.csv)"


def test_a_wrong_key_passphrase_is_one_line(world, cli, tmp_path):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the reviewer passphrase\n")
    wrong.chmod(0o600)
    result = cli("release", "review", "--node", world.research, "--request", request_id,
                 "--file", "by_area.csv", "--decision", "approve", "--reason", "fine",
                 "--key", world.key("bob"), "--key-passphrase-file", wrong)
    assert "wrong passphrase for this reviewer's key" in one_line_error(result)


# --- changes after review ----------------------------------------------------------

def test_a_file_edited_after_approval_cannot_be_published(world, cli):
    table = world.tables.add("by_area", SAFE_BY_AREA)
    request_id = approved(world, cli, table)
    sha = hashlib.sha256(table.read_bytes()).hexdigest()
    kept = world.research / "airlock" / "files" / sha
    kept.chmod(0o600)
    kept.write_bytes(table.read_bytes().replace(b"25", b"23"))
    line = one_line_error(publish(world, cli, request_id))
    assert "by_area.csv" in line and "bytes-as-reviewed" in line
    assert not list((world.research / "outbox").glob("*.evpkg"))
    assert json.loads(show(world, cli, request_id).output)["state"] == "approved"


def test_replacing_a_file_resets_that_files_reviews(world, cli):
    area, year = world.tables.add("by_area", SAFE_BY_AREA), world.tables.add("by_year", SAFE_BY_YEAR)
    request_id = submitted(world, cli, area, year)
    review(world, request_id, "bob", "carol")
    assert cli("release", "return", "--node", world.research, "--request", request_id,
               "--key", world.key("carol"), "--reason", "by_year: use the final cohort").exit_code == 0
    new_year = world.tables.add("by_year_v2", SAFE_BY_YEAR.replace("20 ", "25 "))
    result = cli("release", "replace", "--node", world.research, "--request", request_id,
                 "--file", "by_year.csv", "--with", new_year, "--author", "alice")
    assert result.exit_code == 0 and "its reviews are reset" in result.output
    shown = json.loads(show(world, cli, request_id).output)
    decided = {r["reviewer"]: set(r["decisions"]) for r in shown["reviews"]}
    assert decided == {"bob": {"by_area.csv"}, "carol": {"by_area.csv"}}
    assert shown["files"][1]["sha256"] == hashlib.sha256(new_year.read_bytes()).hexdigest()
    resets = [e for e in audit(world.research) if e["action"] == "release-reviews-reset"]
    assert resets[-1]["details"]["file"] == "by_year.csv"


def test_files_cannot_be_replaced_while_under_review(world, cli):
    table = world.tables.add("by_area", SAFE_BY_AREA)
    request_id = submitted(world, cli, table)
    result = cli("release", "replace", "--node", world.research, "--request", request_id,
                 "--file", "by_area.csv", "--with", table, "--author", "alice")
    assert "pending or returned" in one_line_error(result)


def test_a_returned_and_resubmitted_request_needs_both_reviews_again(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    review(world, request_id, "bob")
    assert cli("release", "return", "--node", world.research, "--request", request_id,
               "--key", world.key("carol"), "--reason", "add the 2016 cohort").exit_code == 0
    assert cli("release", "submit", "--node", world.research, "--request", request_id,
               "--author", "alice").exit_code == 0
    shown = json.loads(show(world, cli, request_id).output)
    assert (shown["state"], shown["turn"], shown["reviews_submitted"]) == ("submitted", 2, 0)


def test_a_withdrawn_request_is_never_released(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    assert cli("release", "withdraw", "--node", world.research, "--request", request_id,
               "--author", "alice").exit_code == 0
    assert f"request {request_id} is withdrawn; reviews are taken" in one_line_error(
        decide(world, cli, request_id, "bob", "by_area.csv"))
    assert "cannot become released" in one_line_error(publish(world, cli, request_id))


def test_a_rejected_request_is_closed(world, cli):
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    review(world, request_id, "bob", "carol", decision="reject")
    assert cli("release", "reject", "--node", world.research, "--request", request_id,
               "--key", world.key("bob"), "--reason", "a dominant cell").exit_code == 0
    result = cli("release", "submit", "--node", world.research, "--request", request_id,
                 "--author", "alice")
    assert "it cannot become submitted (from rejected: nothing: it is closed)" in one_line_error(result)


# --- publishing --------------------------------------------------------------------

def test_every_transition_is_audited_at_the_research_node(world, cli):
    request_id = approved(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    assert publish(world, cli, request_id).exit_code == 0
    moves = [(e["details"]["from"], e["details"]["to"], e["details"]["who"])
             for e in audit(world.research) if e["action"] == "release-transition"]
    assert moves == [("pending", "submitted", "alice"), ("submitted", "partially_reviewed", "bob"),
                     ("partially_reviewed", "reviewed", "carol"), ("reviewed", "approved", "bob"),
                     ("approved", "released", "publish")]


def test_what_the_public_node_holds_is_byte_for_byte_what_was_reviewed(world, cli, tmp_path):
    area, year = world.tables.add("by_area", SAFE_BY_AREA), world.tables.add("by_year", SAFE_BY_YEAR)
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG synthetic chart of areas")
    request_id = approved(world, cli, area, year, chart, drawn_from={"chart.png": ["by_area.csv"]})
    reviewed = {f["file"]: f["sha256"] for f in json.loads(show(world, cli, request_id).output)["files"]}
    assert publish(world, cli, request_id).exit_code == 0
    assert cli("deliver", "--from", world.research, "--to", world.public).exit_code == 0
    result = cli("receive", "--node", world.public)
    assert result.exit_code == 0 and "imported" in result.output, result.output
    out = tmp_path / "site"
    assert cli("release", "published", "--node", world.public, "--out", out).exit_code == 0
    held = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert held == reviewed
    assert (out / "by_area.csv").read_bytes() == area.read_bytes()
    assert (out / "chart.png").read_bytes() == chart.read_bytes()
    assert world.tables.released == {reviewed["by_area.csv"]: request_id,
                                     reviewed["by_year.csv"]: request_id}


def test_reviewer_keys_are_made_and_trusted_from_the_cli(world, cli, tmp_path, monkeypatch):
    result = cli("release", "reviewer", "new", "--name", "erin", "--out", tmp_path / "keys")
    assert result.exit_code == 0 and "fingerprint" in result.output
    assert (tmp_path / "keys" / "erin.key").stat().st_mode & 0o777 == 0o600
    for node in (world.research, world.public):
        result = cli("release", "reviewer", "trust", "--node", node, tmp_path / "keys" / "erin.pub.json")
        assert result.exit_code == 0 and "trusted reviewer 'erin'" in result.output
    listed = cli("release", "reviewer", "list", "--node", world.public).output
    assert "erin:" in listed and "bob:" in listed


def test_a_changed_key_for_a_trusted_reviewer_needs_replace(world, cli, tmp_path):
    assert cli("release", "reviewer", "new", "--name", "bob", "--out", tmp_path).exit_code == 0
    result = cli("release", "reviewer", "trust", "--node", world.research, tmp_path / "bob.pub.json")
    assert "already trusted with key" in one_line_error(result)
    assert cli("release", "reviewer", "trust", "--node", world.research, tmp_path / "bob.pub.json",
               "--replace").exit_code == 0


def test_one_key_cannot_be_trusted_as_two_reviewers(world, cli, tmp_path):
    from evalink.release import load_reviewer_key
    from evalink.release.reviewers import PUBLIC_FORMAT, _canonical

    bob = load_reviewer_key(world.key("bob"), "reviewer test passphrase")
    body = {"format": PUBLIC_FORMAT, "reviewer": "robert", "ed25519": bob.reviewer.ed25519,
            "fingerprint": bob.reviewer.fingerprint, "created": "2020-06-01T00:00:00"}
    robert = tmp_path / "robert.pub.json"
    robert.write_text(json.dumps({**body, "signature": bob.sign(_canonical(body))}))
    result = cli("release", "reviewer", "trust", "--node", world.research, robert)
    assert "one-key-one-reviewer" in one_line_error(result)


def test_a_request_named_by_its_author_is_found_by_that_name_and_named_once(world, cli):
    table = world.tables.add("by_area", SAFE_BY_AREA)
    made = cli("release", "request", "--node", world.research, "--files", table,
               "--reason", "Table 1", "--author", "alice", "--id", "table-1")
    assert made.exit_code == 0, made.output
    assert json.loads(show(world, cli, "table-1").output)["state"] == "pending"
    again = cli("release", "request", "--node", world.research, "--files", table,
                "--reason", "Table 1", "--author", "alice", "--id", "table-1")
    assert one_line_error(again) == "error: --id table-1: a request of this id exists already"
    bad = cli("release", "request", "--node", world.research, "--files", table,
              "--reason", "Table 1", "--author", "alice", "--id", "../up")
    assert one_line_error(bad).startswith("error: --id '../up': a request id is")
