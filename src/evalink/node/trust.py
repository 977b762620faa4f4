"""Publishing a node's public keys and trusting other nodes' keys.

A public key file holds a party's X25519 (encryption) and Ed25519 (signing) public keys,
signed by that Ed25519 key. The self-signature proves the file was made by whoever
holds the private key and was not damaged; it cannot prove *who* that is. Operators
compare the fingerprint `node trust` prints with the one the other party reads out to
them (out of band) — as with SSH host keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from evalink.errors import InputError
from evalink.node.keyring import b64, raw_public, unb64

FORMAT = "evalink-public-key/1"


@dataclass(frozen=True)
class PartyKeys:
    party: str
    x25519: str
    ed25519: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.x25519, self.ed25519)

    def encryption_key(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(unb64(self.x25519))

    def signing_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(unb64(self.ed25519))


def fingerprint(x25519: str, ed25519: str) -> str:
    """Readable fingerprint of both keys: 8 groups of 4 hex digits."""
    import hashlib

    digest = hashlib.sha256(unb64(x25519) + unb64(ed25519)).hexdigest()[:32]
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def _body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def public_key_document(
    party: str, policy_id: str, public: dict[str, str], signing_key: Ed25519PrivateKey,
    created: str,
) -> dict[str, Any]:
    body = {
        "format": FORMAT,
        "party": party,
        "policy": policy_id,
        "x25519": public["x25519"],
        "ed25519": public["ed25519"],
        "fingerprint": fingerprint(public["x25519"], public["ed25519"]),
        "created": created,
    }
    assert b64(raw_public(signing_key.public_key())) == public["ed25519"]
    return {**body, "signature": b64(signing_key.sign(_body_bytes(body)))}


def parse_public_key_document(text: str, source: str) -> tuple[PartyKeys, str]:
    """The keys in a public key file and the policy id it names; checks its signature."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError
        body = {k: v for k, v in document.items() if k != "signature"}
        keys = PartyKeys(str(body["party"]), str(body["x25519"]), str(body["ed25519"]))
        keys.encryption_key()
        keys.signing_key().verify(unb64(document["signature"]), _body_bytes(body))
    except InvalidSignature:
        raise InputError(f"{source}: public key file is not signed by its own key (altered)") from None
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{source}: not an evalink public key file") from None
    if body.get("fingerprint") != keys.fingerprint:
        raise InputError(f"{source}: fingerprint does not match the keys (altered)")
    return keys, str(body.get("policy"))
