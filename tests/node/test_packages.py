"""Sealed packages: what reaches the recipient is exactly what the sender sealed, from
the sender it claims, for this recipient, once — or nothing is imported."""

from __future__ import annotations

import io
import json
import secrets
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from evalink.errors import PolicyViolation
from evalink.node import PackageRefused, deliver
from evalink.node import package as pkg
from evalink.node.keyring import unb64
from tests.node.conftest import Network, copy_nodes, synthetic_people


def send_identifiers(net: Network, table: pa.Table, sender: str = "council",
                     to: str = "linker") -> Path:
    with net.open(sender) as node:
        return node.send(to, "identifiers", table)


def held_rows(net: Network, name: str, dataset: str) -> int:
    with net.open(name) as node:
        return sum(p.rows for p in node.parts(dataset))


def test_a_package_arrives_whole_in_the_recipients_vault(council_linker, people):
    send_identifiers(council_linker, people)
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    with council_linker.open("linker") as linker:
        results = linker.receive()
        assert [(r.ok, r.rows, r.dataset) for r in results] == [(True, 60, "identifiers")]
        assert linker.read_dataset("identifiers").equals(people)
        (part,) = linker.parts("identifiers")
    assert part.location == "vault"
    assert part.sender == "council"
    # The policy's retention rule for the linker sets the destroy-by date.
    assert str(part.destroy_by) == "2022-12-31"


def test_a_department_records_destroy_by_30_days_after_receipt(linker_dwp, people):
    network = linker_dwp
    send_identifiers(network, people, sender="linker", to="dwp")
    deliver(network.dirs["linker"], network.dirs["dwp"])
    with network.open("dwp") as dwp:
        dwp.receive()
        (part,) = dwp.parts("identifiers")
    assert (part.destroy_by - part.received).days == 30


def test_a_field_outside_the_flow_is_refused_on_send_with_the_rule_named(council_linker, people):
    with_religion = people.append_column("religion", pa.array(["x"] * people.num_rows))
    with council_linker.open("council") as council, pytest.raises(PolicyViolation) as refused:
        council.send("linker", "identifiers", with_religion)
    assert "'religion'" in str(refused.value)
    assert refused.value.rule == "council-identifiers-to-linker"
    assert not list((council_linker.dirs["council"] / "outbox").glob("*.evpkg"))
    log = (council_linker.dirs["council"] / "audit" / "log.jsonl").read_text()
    assert '"action":"refused"' in log and "council-identifiers-to-linker" in log


def test_the_receiver_refuses_a_name_sent_back_by_a_department(linker_dwp):
    """A department whose own software skipped the check still cannot deliver a name."""
    network = linker_dwp
    outcomes = pa.table({"reference_number": ["REF000001"], "forename": ["Zephyrine1"]})
    with network.open("dwp") as dwp:
        keys = dwp.trusted("linker")
        out = network.dirs["dwp"] / "outbox" / "forged.evpkg"
        with out.open("wb") as handle:
            pkg.seal(handle, outcomes, manifest={
                "dataset": "dwp_outcomes", "purpose": "evaluation", "flow": "x",
                "policy_id": dwp.policy.id, "policy_version": dwp.policy.version,
                "policy_fingerprint": dwp.policy.fingerprint,
            }, sender="dwp", signing_key=dwp.keyring.signing_key, recipient="linker",
                recipient_key=keys.encryption_key())
    deliver(network.dirs["dwp"], network.dirs["linker"])
    with network.open("linker") as linker:
        (result,) = linker.receive()
        assert not result.ok
        assert "'forename'" in result.message and "dwp-outcomes-to-linker" in result.message
        assert linker.parts() == []
    # Refused data this node could read is not kept: only a receipt remains.
    refused = list((network.dirs["linker"] / "inbox" / "refused").iterdir())
    assert [p.name for p in refused] == ["forged.evpkg.receipt.json"]


def test_a_replayed_package_is_refused(council_linker, people):
    path = send_identifiers(council_linker, people)
    copy = path.read_bytes()
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    with council_linker.open("linker") as linker:
        assert linker.receive()[0].ok
    (council_linker.dirs["linker"] / "inbox" / path.name).write_bytes(copy)
    with council_linker.open("linker") as linker:
        (result,) = linker.receive()
    assert not result.ok and "replay refused" in result.message
    assert held_rows(council_linker, "linker", "identifiers") == 60


def test_a_package_from_an_untrusted_sender_is_refused(network, people):
    network.add("linker")
    network.add("council")
    network.trust("council", "linker")  # the council knows the linker, not the reverse
    send_identifiers(network, people)
    deliver(network.dirs["council"], network.dirs["linker"])
    with network.open("linker") as linker:
        (result,) = linker.receive()
    assert not result.ok and "not trusted" in result.message
    # Left whole in the inbox: once the operator has checked and trusted the key, the
    # next receive imports it.
    assert (network.dirs["linker"] / "inbox" / result.package).exists()
    network.trust("linker", "council")
    with network.open("linker") as linker:
        (result,) = linker.receive()
    assert result.ok and result.rows == people.num_rows


def test_a_package_signed_by_an_impostor_with_a_trusted_partys_name_is_refused(network, people):
    network.add("linker")
    network.add("council", trust=("linker",))
    network.add("council", name="impostor")
    network.trust("impostor", "linker")
    send_identifiers(network, people, sender="impostor")
    deliver(network.dirs["impostor"], network.dirs["linker"])
    with network.open("linker") as linker:
        (result,) = linker.receive()
        assert not result.ok and "not the trusted key of 'council'" in result.message
        assert linker.parts() == []


def test_a_package_for_another_party_cannot_be_opened(network, _template, people):
    copy_nodes(_template, network, "council", "linker", "dwp")
    path = send_identifiers(network, people)
    # Delivered to the wrong node by mistake: refused by its address...
    shutil.copy(path, network.dirs["dwp"] / "inbox" / path.name)
    with network.open("dwp") as dwp:
        (result,) = dwp.receive()
        assert not result.ok and "addressed to 'linker'" in result.message
        # ...and not openable with dwp's key even ignoring the address: the content key
        # comes from the linker's private key.
        header = pkg.read_header(path)
        ephemeral = X25519PublicKey.from_public_bytes(unb64(header["ephemeral"]))
        key = pkg._content_key(dwp.keyring.encryption_key.exchange(ephemeral), header.raw)
        layout = pkg._scan(path.open("rb"), path, header)
        with path.open("rb") as handle:
            handle.seek(layout.manifest[0])
            sealed = handle.read(layout.manifest[1])
        with pytest.raises(InvalidTag):
            AESGCM(key).decrypt(pkg._nonce(b"MNFS", 0), sealed, header.digest)


def _open_completely(path: Path, linker) -> pa.Table:
    keys = linker.trusted("council")
    opened = pkg.open_package(path, party="linker", encryption_key=linker.keyring.encryption_key,
                              sender_key=keys.signing_key())
    table = opened.reader().read_all()
    opened.finish()
    return table


def test_a_package_altered_in_any_byte_is_refused(council_linker, tmp_path):
    small = synthetic_people(3)
    path = send_identifiers(council_linker, small)
    original = path.read_bytes()
    altered = tmp_path / "altered.evpkg"
    with council_linker.open("linker") as linker:
        assert _open_completely(path, linker).equals(small)
        for position in range(len(original)):
            damaged = bytearray(original)
            damaged[position] ^= 0x01
            altered.write_bytes(bytes(damaged))
            with pytest.raises(PackageRefused):
                _open_completely(altered, linker)
        # Cut short, or with a byte added, it is refused too.
        for damaged in (original[:-1], original[:len(original) // 2], original + b"\0"):
            altered.write_bytes(damaged)
            with pytest.raises(PackageRefused):
                _open_completely(altered, linker)


def test_an_altered_package_is_refused_by_receive_and_nothing_is_imported(council_linker, people):
    path = send_identifiers(council_linker, people)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    with council_linker.open("linker") as linker:
        (result,) = linker.receive()
        assert not result.ok and "signature does not verify" in result.message
        assert linker.parts() == []


def test_a_package_made_under_another_policy_version_is_refused(council_linker, people):
    with council_linker.open("council") as council:
        keys = council.trusted("linker")
        out = council_linker.dirs["council"] / "outbox" / "old-policy.evpkg"
        with out.open("wb") as handle:
            pkg.seal(handle, people, manifest={
                "dataset": "identifiers", "purpose": "evaluation",
                "flow": "council-identifiers-to-linker", "policy_id": council.policy.id,
                "policy_version": "2018.0", "policy_fingerprint": "0" * 64,
            }, sender="council", signing_key=council.keyring.signing_key, recipient="linker",
                recipient_key=keys.encryption_key())
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    with council_linker.open("linker") as linker:
        (result,) = linker.receive()
    assert not result.ok and "version '2018.0'" in result.message


def test_the_manifest_records_what_the_issue_lists(council_linker, people):
    path = send_identifiers(council_linker, people)
    with council_linker.open("linker") as linker:
        opened = pkg.open_package(
            path, party="linker", encryption_key=linker.keyring.encryption_key,
            sender_key=linker.trusted("council").signing_key(),
        )
    manifest = opened.manifest
    for key in ("sender", "recipient", "dataset", "fields", "rows", "sha256", "created",
                "purpose", "policy_version", "policy_fingerprint"):
        assert key in manifest
    assert manifest["rows"] == 60 and manifest["purpose"] == "evaluation"
    # Only routing data is in clear.
    header = json.loads(pkg.read_header(path).raw)
    assert "fields" not in header and "dataset" not in header and "rows" not in header


def test_sealing_streams_in_chunks(council_linker):
    big = pa.table({"reference_number": [secrets.token_hex(20) for _ in range(120_000)]})
    with council_linker.open("council") as council:
        keys = council.trusted("linker")
        sink = io.BytesIO()
        manifest = pkg.seal(sink, big, manifest={}, sender="council",
                            signing_key=council.keyring.signing_key, recipient="linker",
                            recipient_key=keys.encryption_key())
    assert manifest["chunks"] > 1 and manifest["rows"] == 120_000


def test_notes_travel_encrypted_with_a_package_and_reach_the_recipient(council_linker, people):
    with council_linker.open("council") as council:
        council.send("linker", "identifiers", people, notes={"batch": {"families": 12}})
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    with council_linker.open("linker") as linker:
        assert linker.receive()[0].ok
        assert linker.package_notes("identifiers") == {"batch": {"families": 12}}
        assert linker.package_notes("attributes") == {}


def test_notes_may_not_carry_personal_data(council_linker, people):
    from evalink.errors import InputError

    with council_linker.open("council") as council, pytest.raises(InputError, match="surname"):
        council.send("linker", "identifiers", people, notes={"example": {"surname": "x"}})


def test_a_signed_package_whose_payload_is_not_a_table_is_refused(council_linker, people,
                                                                  monkeypatch):
    class Garbage:
        def __init__(self, sink, schema, options=None):
            self.sink = sink

        def __enter__(self):
            self.sink.write(b"\x00not an arrow stream" * 50)
            return self

        def __exit__(self, *exc):
            return False

        def write_batch(self, batch):
            pass

    with council_linker.open("council") as council, monkeypatch.context() as patch:
        patch.setattr(pkg.pa.ipc, "new_stream", Garbage)
        council.send("linker", "identifiers", people)
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    with council_linker.open("linker") as linker:
        (result,) = linker.receive()
        assert not result.ok and "payload" in result.message
        assert linker.parts() == [] and linker.keyring.data_key_ids() == set()
