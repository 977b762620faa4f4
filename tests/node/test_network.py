"""`evalink flow init`: the nodes of a flow and the trusts its policy's flows need."""

from __future__ import annotations

from evalink.node import Node
from evalink.node.network import trusts_needed
from tests.node.conftest import EXAMPLE_POLICY, PASSPHRASE


def _trusted(directory) -> set[str]:
    with Node.open(directory, PASSPHRASE) as node:
        return {r[0] for r in node._con.execute("SELECT party FROM catalog.trusted").fetchall()}


def test_each_party_trusts_exactly_the_parties_its_flows_connect_it_with(
    tmp_path, evalink_cli
):
    result = evalink_cli("flow", "init", "--workdir", tmp_path / "nodes",
                         "--parties", "council,linker,dwp,research", "--policy", EXAMPLE_POLICY)

    assert result.exit_code == 0, result.output
    nodes = tmp_path / "nodes"
    assert _trusted(nodes / "council") == {"linker"}
    assert _trusted(nodes / "linker") == {"council", "dwp", "research"}
    assert _trusted(nodes / "dwp") == {"linker"}
    assert _trusted(nodes / "research") == {"linker"}
    assert sorted(p.name for p in (nodes / "public-keys").iterdir()) == [
        "council.json", "dwp.json", "linker.json", "research.json"]


def test_flow_init_run_again_keeps_the_nodes_and_adds_only_missing_trusts(tmp_path, evalink_cli):
    nodes = tmp_path / "nodes"
    first = evalink_cli("flow", "init", "--workdir", nodes, "--parties", "council,linker",
                        "--policy", EXAMPLE_POLICY)
    assert first.exit_code == 0, first.output
    with Node.open(nodes / "council", PASSPHRASE) as council:
        fingerprint = council.fingerprint

    again = evalink_cli("flow", "init", "--workdir", nodes, "--parties", "council,linker,dwp",
                        "--policy", EXAMPLE_POLICY)

    assert again.exit_code == 0, again.output
    with Node.open(nodes / "council", PASSPHRASE) as council:
        assert council.fingerprint == fingerprint
    assert _trusted(nodes / "linker") == {"council", "dwp"}
    assert "'linker' trusts 'dwp'" in again.output and "'council' trusts" not in again.output


def test_flow_init_refuses_a_party_the_policy_does_not_know(tmp_path, evalink_cli):
    result = evalink_cli("flow", "init", "--workdir", tmp_path / "nodes",
                         "--parties", "council,hmrc", "--policy", EXAMPLE_POLICY)
    assert result.exit_code == 2
    assert "hmrc" in result.output
    assert not (tmp_path / "nodes").exists()


def test_trusts_run_both_ways_along_every_flow(example_policy):
    pairs = trusts_needed(example_policy, ["council", "linker", "dwp"])
    assert ("council", "linker") in pairs and ("linker", "council") in pairs
    assert ("council", "dwp") not in pairs and ("dwp", "council") not in pairs
