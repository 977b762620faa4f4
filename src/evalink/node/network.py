"""Setting up the parties of a flow on one machine: a node each, and the key exchange
each flow of the policy needs.

In production every party creates its own node on its own machine and the key files
travel between them (read the fingerprints out over the phone). To try the flow, train
staff or test a policy, `init_network` does the same steps in one go. It is safe to run
again: a node that exists is kept, and only the trusts still missing are added, so a
run stopped half-way is finished by the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalink.clock import Clock, wall_clock
from evalink.errors import InputError
from evalink.node.node import Node, init_node, is_node, node_party
from evalink.policy import Policy, load_policy


@dataclass
class Network:
    """What `init_network` made: nodes created, kept, and the trusts added."""

    root: Path
    keys: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    trusts: list[tuple[str, str]] = field(default_factory=list)  # (truster, trusted)


def trusts_needed(policy: Policy, parties: list[str]) -> set[tuple[str, str]]:
    """(truster, trusted) pairs among `parties` that the policy's flows need: a sender
    seals to the recipient's key, and the recipient checks the sender's signature."""
    among = set(parties)
    pairs = set()
    for flow in policy.document.flows:
        if flow.from_ in among and flow.to in among and flow.from_ != flow.to:
            pairs.add((flow.from_, flow.to))
            pairs.add((flow.to, flow.from_))
    return pairs


def init_network(
    root: Path | str, parties: list[str], policy_path: Path | str, passphrase: str,
    clock: Clock = wall_clock,
) -> Network:
    """Create ROOT/PARTY for each party (unless it is already that party's node), write
    each node's public key file to ROOT/public-keys/, and have each node trust the
    parties it exchanges data with under the policy."""
    root = Path(root)
    policy = load_policy(policy_path)
    parties = list(dict.fromkeys(parties))
    if not parties:
        raise InputError("--parties: name at least one party")
    for party in parties:
        policy.party(party)  # refuses a party the policy does not know, naming it
    for party in parties:
        directory = root / party
        if is_node(directory) and node_party(directory) != party:
            raise InputError(
                f"{directory}: is the node of party '{node_party(directory)}', not '{party}'"
            )
    network = Network(root, root / "public-keys")
    for party in parties:
        directory = root / party
        if is_node(directory):
            network.kept.append(party)
        else:
            init_node(directory, party=party, policy_path=policy_path, passphrase=passphrase,
                      clock=clock)
            network.created.append(party)
    for party in parties:
        with Node.open(root / party, passphrase, clock=clock) as node:
            network.fingerprints[party] = node.export_public(network.keys / f"{party}.json")
    needed = trusts_needed(policy, parties)
    for truster in parties:
        wanted = sorted(trusted for t, trusted in needed if t == truster)
        if not wanted:
            continue
        with Node.open(root / truster, passphrase, clock=clock) as node:
            for trusted in wanted:
                if node.trusted(trusted) is None:
                    node.trust(network.keys / f"{trusted}.json")
                    network.trusts.append((truster, trusted))
    return network
