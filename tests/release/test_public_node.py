"""The public node accepts nothing but what came out of the airlock as its rules say.

Packages here are sealed by the research node's ordinary `send` (the flow allows
published_outputs), with notes made by hand: what a research node whose airlock was
bypassed, or whose records were forged, would send. Each breaks one rule and is refused
naming it; the control package, made the same way with every rule kept, is accepted.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from evalink.node import deliver
from evalink.release.checks import checks_digest
from evalink.release.reviewers import decision_message, reason_digest
from tests.release.conftest import KEY_PASSPHRASE, SAFE_BY_AREA, World

UNSAFE_BY_AREA = SAFE_BY_AREA.replace("15 ", "3  ").replace("40", "28")


def table_checks(sha: str, *, passed: bool = True) -> dict:
    return {"kind": "table", "table": sha, "register": "by_area", "passed": passed,
            "problems": [] if passed else ["differencing: a group by area differs"],
            "spec": {"index": ["area"], "columns": "cohort", "measure": None,
                     "aggfunc": "count", "unit": "family", "margins": True},
            "summary": {"cells": 9, "published": 7, "suppressed_primary": 1,
                        "suppressed_secondary": 1, "rules": {"threshold": 1, "secondary": 1}}}


def csv_bytes(rows: str) -> bytes:
    lines = [line.strip() for line in rows.strip().splitlines()]
    return ("\n".join(",".join(c.strip() for c in line.split("|")) for line in lines) + "\n").encode()


def sign(world: World, who: str, *, request: str, author: str, file: str, sha: str,
         checks: dict) -> dict:
    from evalink.release import load_reviewer_key

    key = load_reviewer_key(world.key(who), KEY_PASSPHRASE)
    message = decision_message(
        request=request, author=author, file=file, sha256=sha,
        checks_sha256=checks_digest(checks), decision="approve",
        reason_sha256=reason_digest("looked at every cell"), reviewer=who,
    )
    return {"reviewer": who, "ed25519": key.reviewer.ed25519,
            "reason_sha256": reason_digest("looked at every cell"), "signature": key.sign(message)}


def send_forged(
    world: World, files: dict[str, bytes], *, approvers=("bob", "carol"), author: str = "alice",
    checks: dict[str, dict] | None = None, sent: dict[str, bytes] | None = None,
    notes: dict | None = None, rows_checks: dict[str, dict] | None = None,
):
    """Seal `files` (or `sent`, the bytes actually put in the rows) to the public node
    with a release record signed by `approvers`, deliver and receive; returns the
    public node's results."""
    records = []
    for name, content in files.items():
        sha = hashlib.sha256(content).hexdigest()
        result = (checks or {}).get(name) or table_checks(sha)
        records.append({
            "file": name, "sha256": sha, "checks": result, "checks_sha256": checks_digest(result),
            "approvals": [sign(world, who, request="r1", author=author, file=name, sha=sha,
                               checks=result) for who in approvers],
        })
    rows = sent or files
    table = pa.table({
        "file": pa.array(list(rows), pa.string()),
        "kind": pa.array([r["checks"]["kind"] for r in records], pa.string()),
        "sha256": pa.array([hashlib.sha256(c).hexdigest() for c in files.values()], pa.string()),
        "checks": pa.array([json.dumps((rows_checks or {}).get(r["file"], r["checks"]),
                                       sort_keys=True, separators=(",", ":"))
                            for r in records], pa.string()),
        "content": pa.array(list(rows.values()), pa.binary()),
    })
    release = {"request": "r1", "author": author, "author_key": None, "title": "t", "files": records}
    with world.open("research") as node:
        node.send("public", "published_outputs", table,
                  notes=notes if notes is not None else {"release": release})
    deliver(world.research, world.public)
    with world.open("public") as node:
        return node.receive()


def refused_for(results, rule: str) -> str:
    assert len(results) == 1 and not results[0].ok, results
    assert f"(airlock rule '{rule}')" in results[0].message, results[0].message
    assert "rule 'published-output-checks'" in results[0].message
    return results[0].message


def test_a_package_made_as_the_airlock_makes_it_is_accepted(world):
    from evalink.release import rescan_published

    results = send_forged(world, {"by_area.csv": csv_bytes(SAFE_BY_AREA)})
    assert [r.ok for r in results] == [True]
    with world.open("public") as node:
        assert rescan_published(node) == {"by_area.csv": []}


def test_a_check_result_in_the_rows_other_than_the_one_signed_is_refused(world):
    content = csv_bytes(SAFE_BY_AREA)
    sha = hashlib.sha256(content).hexdigest()
    signed = table_checks(sha)
    results = send_forged(world, {"by_area.csv": content}, checks={"by_area.csv": signed},
                          rows_checks={"by_area.csv": {**signed, "register": "other"}})
    refused_for(results, "checks-passed")


def test_rows_sent_without_the_airlock_are_refused(world, cli, tmp_path):
    rows = tmp_path / "outputs.csv"
    rows.write_text("file,kind,sha256,checks,content\nby_area.csv,table,x,{},A;25;15\n")
    assert cli("send", "--node", world.research, "--to", "public", "--dataset",
               "published_outputs", rows).exit_code == 0
    assert cli("deliver", "--from", world.research, "--to", world.public).exit_code == 0
    result = cli("receive", "--node", world.public)
    assert result.exit_code == 2
    assert "no airlock release travels with these rows" in result.output
    assert "(airlock rule 'two-reviewers')" in result.output
    with world.open("public") as node:
        assert not node.parts("published_outputs")


def test_an_empty_release_is_refused(world):
    refused_for(send_forged(world, {}), "bytes-as-reviewed")


def test_one_reviewers_approval_is_refused(world):
    results = send_forged(world, {"by_area.csv": csv_bytes(SAFE_BY_AREA)}, approvers=("bob",))
    assert "carries 1 approval(s)" in refused_for(results, "two-reviewers")


def test_the_same_reviewer_twice_is_one_approval(world):
    results = send_forged(world, {"by_area.csv": csv_bytes(SAFE_BY_AREA)}, approvers=("bob", "bob"))
    refused_for(results, "two-reviewers")


def test_an_approval_by_the_author_is_refused(world):
    results = send_forged(world, {"by_area.csv": csv_bytes(SAFE_BY_AREA)},
                          approvers=("bob", "alice"), author="alice")
    assert "approved by its own author" in refused_for(results, "author-never-reviews")


def test_an_approval_by_a_reviewer_the_public_node_does_not_trust_is_refused(world):
    results = send_forged(world, {"by_area.csv": csv_bytes(SAFE_BY_AREA)},
                          approvers=("bob", "dave"))
    refused_for(results, "two-reviewers")


def test_bytes_other_than_those_reviewed_are_refused(world):
    reviewed = csv_bytes(SAFE_BY_AREA)
    results = send_forged(world, {"by_area.csv": reviewed},
                          sent={"by_area.csv": reviewed.replace(b"25", b"20")})
    assert "do not match the SHA-256" in refused_for(results, "bytes-as-reviewed")


def test_a_check_result_that_did_not_pass_is_refused(world):
    content = csv_bytes(SAFE_BY_AREA)
    sha = hashlib.sha256(content).hexdigest()
    results = send_forged(world, {"by_area.csv": content},
                          checks={"by_area.csv": table_checks(sha, passed=False)})
    refused_for(results, "checks-passed")


def test_a_table_whose_cells_fail_the_rules_is_refused_though_its_checks_say_passed(world):
    results = send_forged(world, {"by_area.csv": csv_bytes(UNSAFE_BY_AREA)})
    assert "under the threshold" in refused_for(results, "rescan")


def test_a_checks_file_is_refused(world):
    results = send_forged(world, {"by_area.checks.csv": csv_bytes(SAFE_BY_AREA)})
    refused_for(results, "no-checks-files")


def test_a_chart_drawn_from_no_table_in_the_package_is_refused(world):
    chart = b"\x89PNG synthetic chart"
    checks = {"kind": "drawn", "passed": True, "problems": [],
              "drawn_from": [{"file": "by_area.csv", "table": "0" * 64}]}
    results = send_forged(world, {"chart.png": chart}, checks={"chart.png": checks})
    refused_for(results, "checks-passed")


def test_a_refusal_is_audited_at_the_public_node_with_the_policys_rule(world):
    send_forged(world, {"by_area.csv": csv_bytes(SAFE_BY_AREA)}, approvers=("bob",))
    log = [json.loads(line) for line in (world.public / "audit" / "log.jsonl").read_text().splitlines()]
    refusal = [e for e in log if e["action"] == "refused"][-1]
    assert refusal["details"]["rule"] == "published-output-checks"


def test_a_release_approved_by_a_reviewer_the_public_node_does_not_trust_is_refused_end_to_end(
    world, cli, tmp_path
):
    from tests.release.test_cli import submitted

    assert cli("release", "reviewer", "new", "--name", "erin", "--out", tmp_path).exit_code == 0
    assert cli("release", "reviewer", "trust", "--node", world.research,
               tmp_path / "erin.pub.json").exit_code == 0
    request_id = submitted(world, cli, world.tables.add("by_area", SAFE_BY_AREA))
    for key in (world.key("bob"), tmp_path / "erin.key"):
        assert cli("release", "review", "--node", world.research, "--request", request_id,
                   "--file", "by_area.csv", "--decision", "approve", "--reason", "fine",
                   "--key", key).exit_code == 0
        assert cli("release", "submit-review", "--node", world.research, "--request", request_id,
                   "--key", key).exit_code == 0
    assert cli("release", "approve", "--node", world.research, "--request", request_id,
               "--key", world.key("carol")).exit_code == 0
    assert cli("release", "publish", "--node", world.research, "--request", request_id).exit_code == 0
    assert cli("deliver", "--from", world.research, "--to", world.public).exit_code == 0
    result = cli("receive", "--node", world.public)
    assert result.exit_code == 2 and "(airlock rule 'two-reviewers')" in result.output
    assert "nothing published" in cli("release", "published", "--node", world.public).output
