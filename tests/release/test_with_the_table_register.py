"""The airlock with the real table register and `evalink table` (no stand-ins): a table
made at the research node goes out through two reviewers, is scanned again at the
public node, and is marked released in the register."""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pyarrow as pa
import pytest

from tests.release.conftest import World
from tests.release.test_cli import review

AREAS = ("Ashfield", "Brookmere", "Cinderford")
BY_AREA = ("--index", "local_authority", "--columns", "sex", "--unit", "pseudonym")


def persons(counts: dict[tuple[str, str], int], start: int = 0) -> pd.DataFrame:
    """Invented persons with pseudonyms no real data has."""
    rows = []
    for (area, sex), count in counts.items():
        for _ in range(count):
            rows.append({"pseudonym": f"PSQZ{start + len(rows):05d}", "local_authority": area,
                         "sex": sex})
    return pd.DataFrame(rows)


@pytest.fixture
def research(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world with the research node's own register (not the stand-in), holding a
    research dataset of 20 persons in each area and sex, and 4 in one."""
    import evalink.release.checks as checks
    from evalink.disclosure.register import Register

    monkeypatch.setattr(checks, "open_register", Register)
    counts = {(area, sex): 20 for area in AREAS for sex in ("F", "M")}
    counts[("Brookmere", "M")] = 4
    with world.open("research") as node:
        node.write_dataset("research_dataset",
                           pa.Table.from_pandas(persons(counts), preserve_index=False))
    return world


def table(world: World, cli, name: str, *where: str):
    out = world.tables.folder / f"{name}.csv"
    result = cli("table", "--node", world.research, "--dataset", "research_dataset", *BY_AREA,
                 *where, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_a_table_from_evalink_table_is_released_scanned_again_and_marked_released(research, cli):
    world = research
    out = table(world, cli, "by_area")
    result = cli("release", "request", "--node", world.research, "--files", out, "--reason",
                 "Table 1", "--author", "alice")
    assert result.exit_code == 0 and "checks passed" in result.output, result.output
    request_id = re.match(r"request (\S+):", result.output).group(1)
    assert cli("release", "submit", "--node", world.research, "--request", request_id,
               "--author", "alice").exit_code == 0
    review(world, request_id, "bob", "carol")
    for step in (("approve", "--key", world.key("carol")), ("publish",)):
        result = cli("release", step[0], "--node", world.research, "--request", request_id, *step[1:])
        assert result.exit_code == 0, result.output
    assert cli("deliver", "--from", world.research, "--to", world.public).exit_code == 0
    assert cli("receive", "--node", world.public).exit_code == 0
    from evalink.disclosure.register import Register
    from evalink.release import published

    with world.open("public") as node:
        held = published(node)
    assert [(f.file, f.sha256) for f in held] == [("by_area.csv", hashlib.sha256(out.read_bytes()).hexdigest())]
    with world.open("research") as node:
        entry = Register(node).entry(held[0].sha256)
    assert (entry.status, entry.release_id) == ("released", request_id)
    shown = json.loads(cli("release", "show", "--node", world.research, "--request", request_id,
                           "--format", "json").output)
    assert shown["files"][0]["summary"]["suppressed_primary"] >= 1
    for node_dir in (world.research, world.public):
        assert cli("audit", "verify", "--node", node_dir).exit_code == 0


def test_two_tables_of_one_request_that_difference_to_a_small_group_fail_their_checks(
    research, cli
):
    world = research
    everyone = table(world, cli, "by_area")
    fewer = table(world, cli, "by_area_f", "--where", "sex=F")
    result = cli("release", "request", "--node", world.research, "--files", everyone, fewer,
                 "--reason", "Table 1 and a part of it", "--author", "alice")
    assert result.exit_code == 0, result.output
    request_id = re.match(r"request (\S+):", result.output).group(1)
    shown = json.loads(cli("release", "show", "--node", world.research, "--request", request_id,
                           "--format", "json").output)
    problems = [p for f in shown["files"] for p in f["problems"]]
    assert any(p.startswith("differencing: ") for p in problems), problems
    result = cli("release", "submit", "--node", world.research, "--request", request_id,
                 "--author", "alice")
    assert result.exit_code == 2 and "checks-passed" in result.output


def test_release_outputs_takes_a_demos_tables_through_the_airlock_in_one_call(research, cli):
    from evalink.node import deliver
    from evalink.release import ReleaseRefused, release_outputs, rescan_published
    from tests.release.test_cli import reviewer_key

    world = research
    out = table(world, cli, "by_area")
    bob, carol, alice = (reviewer_key(world, who) for who in ("bob", "carol", "alice"))
    with world.open("research") as node:
        with pytest.raises(ReleaseRefused, match="author-never-reviews"):
            release_outputs(node, [out], reason="demo", author="alice", reviewers=[bob, alice])
        done = release_outputs(node, [out], reason="demo", author="alice", reviewers=[bob, carol])
    deliver(world.research, world.public)
    with world.open("public") as node:
        assert [r.ok for r in node.receive()] == [True]
        assert rescan_published(node) == {"by_area.csv": []}
    assert done.tables_released == (hashlib.sha256(out.read_bytes()).hexdigest(),)


def test_a_publish_that_fails_to_send_leaves_the_table_unreleased_in_the_register(
    research, cli, monkeypatch
):
    from evalink.disclosure.register import Register
    from evalink.errors import EvalinkError
    from evalink.node.transfer import Transfer
    from tests.release.test_cli import approved

    world = research
    out = table(world, cli, "by_area")
    request_id = approved(world, cli, out)

    def broken_send(self, *args, **kwargs):
        raise EvalinkError("disk full (simulated)")

    monkeypatch.setattr(Transfer, "send", broken_send)
    result = cli("release", "publish", "--node", world.research, "--request", request_id)
    assert result.exit_code == 2 and "disk full" in result.output
    with world.open("research") as node:
        assert Register(node).entry(hashlib.sha256(out.read_bytes()).hexdigest()).status == "prepared"
    shown = json.loads(cli("release", "show", "--node", world.research, "--request", request_id,
                           "--format", "json").output)
    assert shown["state"] == "approved"
