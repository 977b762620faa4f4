"""A node's key ring: one passphrase unlocks everything, nothing is stored in clear.

    passphrase ──scrypt──▶ master key
        master key wraps: store key, parts key, vault key, X25519 (encryption) and
                          Ed25519 (signing) private keys, and the node's sealed
                          configuration
        store key  encrypts the catalog (names, counts, hashes: no records)
        parts key  wraps: the data key of every dataset part in the main store
        vault key  wraps: the data key of every dataset part in the identifier vault

Wrapping is AES-256-GCM with the key's name as associated data, so a wrapped key cannot
be swapped into another slot unnoticed. Each dataset part is its own DuckDB file
encrypted under its own data key: deleting that one wrapped data key (crypto-shredding)
makes every copy of the part unreadable — backups of the node's data included, provided
the key ring itself is held apart from data backups (see docs/security.md).

After a destruction the parts and vault keys are replaced and every remaining data key
re-wrapped (`rekey`): a destroyed part's wrapped data key, copied out of an older ring,
then no longer opens under the ring as it is.

The key ring is one JSON file rewritten atomically, so a crash leaves the old or the new
ring, never half of one.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from evalink.errors import EvalinkError, InputError
from evalink.files import write_text_atomic

FORMAT = "evalink-keyring/1"
# scrypt cost: 2**17 (128 MiB, ~0.3 s here) is OWASP's recommendation for scrypt. Tests
# and demos may lower it with EVALINK_SCRYPT_LOG2N; the cost is recorded in the ring, so
# it is chosen once, at `node init`.
DEFAULT_SCRYPT_LOG2N = 17
MIN_SCRYPT_LOG2N = 10
MIN_PASSPHRASE_LENGTH = 12


class WrongPassphrase(EvalinkError):
    """The passphrase does not unlock this node's key ring."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def scrypt_log2n() -> int:
    raw = os.environ.get("EVALINK_SCRYPT_LOG2N")
    if not raw:
        return DEFAULT_SCRYPT_LOG2N
    try:
        value = int(raw)
    except ValueError:
        raise InputError("EVALINK_SCRYPT_LOG2N must be a whole number") from None
    if not MIN_SCRYPT_LOG2N <= value <= 22:
        raise InputError(f"EVALINK_SCRYPT_LOG2N must be between {MIN_SCRYPT_LOG2N} and 22")
    return value


# Derived keys, per process: scrypt is slow on purpose (0.3 s), and one process that
# opens its nodes many times (the demo, the tests, a service) should pay once per node.
# Holding the derived key is no weaker than holding the passphrase, which the process has.
_DERIVED: dict[tuple[bytes, bytes, int, int, int], bytes] = {}


def derive_master_key(passphrase: str, salt: bytes, log2n: int, r: int = 8, p: int = 1) -> bytes:
    import hashlib

    cache_key = (hashlib.sha256(passphrase.encode("utf-8")).digest(), salt, log2n, r, p)
    if cache_key not in _DERIVED:
        if len(_DERIVED) >= 64:
            _DERIVED.clear()
        _DERIVED[cache_key] = Scrypt(salt=salt, length=32, n=2**log2n, r=r, p=p).derive(
            passphrase.encode("utf-8")
        )
    return _DERIVED[cache_key]


def wrap(kek: bytes, secret: bytes, label: str) -> str:
    nonce = secrets.token_bytes(12)
    return b64(nonce + AESGCM(kek).encrypt(nonce, secret, label.encode("utf-8")))


def unwrap(kek: bytes, wrapped: str, label: str) -> bytes:
    raw = unb64(wrapped)
    return AESGCM(kek).decrypt(raw[:12], raw[12:], label.encode("utf-8"))


def _raw_private(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def raw_public(key: X25519PublicKey | Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class KeyRing:
    """An unlocked key ring. Secrets live only in memory; `save()` writes them wrapped."""

    path: Path
    document: dict[str, Any]
    master_key: bytes = field(repr=False)
    store_key: bytes = field(repr=False)
    parts_key: bytes = field(repr=False)
    vault_key: bytes = field(repr=False)
    encryption_key: X25519PrivateKey = field(repr=False)
    signing_key: Ed25519PrivateKey = field(repr=False)
    config: dict[str, Any] = field(default_factory=dict)

    # --- creating and unlocking -------------------------------------------------------

    @classmethod
    def create(cls, path: Path, passphrase: str, config: dict[str, Any]) -> KeyRing:
        if len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise InputError(
                f"passphrase too short: use at least {MIN_PASSPHRASE_LENGTH} characters"
            )
        salt = secrets.token_bytes(16)
        log2n = scrypt_log2n()
        master = derive_master_key(passphrase, salt, log2n)
        ring = cls(
            path=path,
            document={},
            master_key=master,
            store_key=secrets.token_bytes(32),
            parts_key=secrets.token_bytes(32),
            vault_key=secrets.token_bytes(32),
            encryption_key=X25519PrivateKey.generate(),
            signing_key=Ed25519PrivateKey.generate(),
            config=dict(config),
        )
        ring.document = {
            "format": FORMAT,
            "kdf": {"name": "scrypt", "salt": b64(salt), "log2n": log2n, "r": 8, "p": 1},
            "public": {
                "x25519": b64(raw_public(ring.encryption_key.public_key())),
                "ed25519": b64(raw_public(ring.signing_key.public_key())),
            },
            "keys": ring._wrapped_keys(master),
            # The node's party and policy fingerprint, sealed so that editing node.json
            # or policy.yaml cannot quietly turn a department into the linker.
            "config": wrap(master, json.dumps(config, sort_keys=True).encode(), "config"),
            "data_keys": {},
        }
        ring.save()
        return ring

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> KeyRing:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            kdf = document["kdf"]
            if document.get("format") != FORMAT or kdf.get("name") != "scrypt":
                raise ValueError("unknown key ring format")
            master = derive_master_key(
                passphrase, unb64(kdf["salt"]), int(kdf["log2n"]), int(kdf["r"]), int(kdf["p"])
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}: key ring cannot be read ({type(error).__name__})") from None
        keys = document["keys"]
        try:
            store_key = unwrap(master, keys["store"], "store-key")
        except InvalidTag:
            raise WrongPassphrase(f"wrong passphrase for node {path.parent.parent}") from None
        try:
            ring = cls(
                path=path,
                document=document,
                master_key=master,
                store_key=store_key,
                # Rings made before the parts key wrapped store data keys under the store key.
                parts_key=unwrap(master, keys["parts"], "parts-key") if "parts" in keys else store_key,
                vault_key=unwrap(master, keys["vault"], "vault-key"),
                encryption_key=X25519PrivateKey.from_private_bytes(
                    unwrap(master, keys["x25519"], "x25519-private")
                ),
                signing_key=Ed25519PrivateKey.from_private_bytes(
                    unwrap(master, keys["ed25519"], "ed25519-private")
                ),
                config=json.loads(unwrap(master, document["config"], "config")),
            )
        except (InvalidTag, KeyError, ValueError) as error:
            raise EvalinkError(
                f"{path}: key ring has been altered ({type(error).__name__}); restore it from "
                "its secure copy"
            ) from None
        # The public keys are stored in clear for convenience; they must be the ones that
        # belong to the private keys, or exports would publish an attacker's keys.
        if document["public"] != ring.public_keys():
            raise EvalinkError(f"{path}: public keys do not match the private keys (altered)")
        return ring

    def change_passphrase(self, new_passphrase: str) -> None:
        """Rewrap everything the master key wraps under a key from the new passphrase.
        Data keys are wrapped by the store and vault keys, which do not change, so no
        data is re-encrypted."""
        if len(new_passphrase) < MIN_PASSPHRASE_LENGTH:
            raise InputError(
                f"passphrase too short: use at least {MIN_PASSPHRASE_LENGTH} characters"
            )
        salt = secrets.token_bytes(16)
        log2n = max(int(self.document["kdf"]["log2n"]), scrypt_log2n())
        master = derive_master_key(new_passphrase, salt, log2n)
        self.document["kdf"] = {"name": "scrypt", "salt": b64(salt), "log2n": log2n, "r": 8, "p": 1}
        self.document["keys"] = self._wrapped_keys(master)
        self.document["config"] = wrap(
            master, json.dumps(self.config, sort_keys=True).encode(), "config"
        )
        self.master_key = master
        self.save()

    def _wrapped_keys(self, master: bytes) -> dict[str, str]:
        return {
            "store": wrap(master, self.store_key, "store-key"),
            "parts": wrap(master, self.parts_key, "parts-key"),
            "vault": wrap(master, self.vault_key, "vault-key"),
            "x25519": wrap(master, _raw_private(self.encryption_key), "x25519-private"),
            "ed25519": wrap(master, _raw_private(self.signing_key), "ed25519-private"),
        }

    # --- keys -------------------------------------------------------------------------

    def public_keys(self) -> dict[str, str]:
        return {
            "x25519": b64(raw_public(self.encryption_key.public_key())),
            "ed25519": b64(raw_public(self.signing_key.public_key())),
        }

    def _kek(self, under: str) -> bytes:
        if under == "store":
            return self.parts_key
        if under == "vault":
            return self.vault_key
        raise ValueError(f"unknown key-encryption key '{under}'")

    def new_data_key(self, key_id: str, under: str) -> bytes:
        """A fresh data key, wrapped under the store or vault key and saved at once.

        Saved before any data is written with it: a crash then leaves at worst an unused
        key (removed at next open), never data without its key.
        """
        key = secrets.token_bytes(32)
        self.document["data_keys"][key_id] = self._wrapped_data_key(key_id, under, key)
        self.save()
        return key

    def _wrapped_data_key(self, key_id: str, under: str, key: bytes) -> dict[str, str]:
        return {"under": under, "wrapped": wrap(self._kek(under), key, f"data-key:{key_id}")}

    def data_key(self, key_id: str) -> bytes:
        entry = self.document["data_keys"].get(key_id)
        if entry is None:
            raise EvalinkError(f"data key '{key_id}' has been destroyed or never existed")
        try:
            return unwrap(self._kek(entry["under"]), entry["wrapped"], f"data-key:{key_id}")
        except InvalidTag:
            raise EvalinkError(f"data key '{key_id}' has been altered in the key ring") from None

    def data_key_ids(self) -> set[str]:
        return set(self.document["data_keys"])

    def destroy_data_keys(self, key_ids: list[str]) -> list[str]:
        """Delete wrapped data keys and rewrite the ring: crypto-shredding. Returns the ids
        that existed."""
        gone = [k for k in key_ids if self.document["data_keys"].pop(k, None) is not None]
        if gone:
            self.save()
        return gone

    def rekey(self) -> None:
        """Replace the parts and vault keys and re-wrap every data key still held.

        Run after a destruction. The destroyed part's data key is gone from this ring
        already; re-wrapping means that its wrapped copy in an older ring (a backup, a
        copy taken before) cannot be unwrapped with the keys this ring holds now. One
        atomic rewrite of the ring: a crash leaves the old ring or the new, both whole.
        """
        held = {
            key_id: (entry["under"], self.data_key(key_id))
            for key_id, entry in self.document["data_keys"].items()
        }
        self.parts_key = secrets.token_bytes(32)
        self.vault_key = secrets.token_bytes(32)
        self.document["data_keys"] = {
            key_id: self._wrapped_data_key(key_id, under, key)
            for key_id, (under, key) in held.items()
        }
        self.document["keys"] = self._wrapped_keys(self.master_key)
        self.save()

    def save(self) -> None:
        write_text_atomic(self.path, json.dumps(self.document, indent=1, sort_keys=True) + "\n")
        os.chmod(self.path, 0o600)
