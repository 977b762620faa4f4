"""Reviewers' keys: an Ed25519 key pair per reviewer, bound to the reviewer's name.

    NAME.key        the private key, wrapped (AES-256-GCM) under a key derived from the
                    reviewer's own passphrase by scrypt, as a node's key ring is; the name
                    is the associated data, so the key cannot be rebound to another name
    NAME.pub.json   the public key and the name, signed by the key itself

A node trusts a reviewer by reading the public key file (`trust_reviewer`), as it trusts
another party's node: the self-signature proves the file is whole and made by whoever
holds the private key, not *who* that is, so the operator compares the fingerprint
printed with the one the reviewer reads out. The research node needs the keys to take
reviews; the public node needs them to accept what two reviewers signed. A node holds
one key per name and one name per key: one person cannot sign as two reviewers.

What a reviewer signs is `decision_message`: the request, its author, the file, the
SHA-256 of its bytes, the SHA-256 of its automatic check result, the decision and the
SHA-256 of the reason. Change any of them and the signature no longer verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evalink.errors import EvalinkError, InputError
from evalink.files import write_text_atomic
from evalink.node.keyring import (
    MIN_PASSPHRASE_LENGTH,
    b64,
    derive_master_key,
    raw_public,
    scrypt_log2n,
    unb64,
    unwrap,
    wrap,
)

PRIVATE_FORMAT = "evalink-reviewer-key/1"
PUBLIC_FORMAT = "evalink-reviewer-public-key/1"
DECISION_FORMAT = "evalink-release-decision/1"
# A name is also a file name (NAME.key) and appears in one-line messages: keep it plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(name: str, what: str = "reviewer name") -> str:
    if not _NAME.fullmatch(name):
        raise InputError(
            f"{what} {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


def key_fingerprint(ed25519: str) -> str:
    """8 groups of 4 hex digits of SHA-256 of the raw public key, as node keys read."""
    digest = hashlib.sha256(unb64(ed25519)).hexdigest()[:32]
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def reason_digest(reason: str) -> str:
    return hashlib.sha256(reason.encode("utf-8")).hexdigest()


def decision_message(
    *, request: str, author: str, file: str, sha256: str, checks_sha256: str, decision: str,
    reason_sha256: str, reviewer: str,
) -> bytes:
    """The bytes a reviewer signs for one decision on one file."""
    return _canonical({
        "format": DECISION_FORMAT, "request": request, "author": author, "file": file,
        "sha256": sha256, "checks_sha256": checks_sha256, "decision": decision,
        "reason_sha256": reason_sha256, "reviewer": reviewer,
    })


@dataclass(frozen=True)
class Reviewer:
    """A reviewer as a node knows them: a name bound to an Ed25519 public key."""

    reviewer: str
    ed25519: str  # base64 of the raw public key

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.ed25519)

    def verifies(self, signature: str, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(unb64(self.ed25519)).verify(
                unb64(signature), message
            )
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class ReviewerKey:
    """An unlocked reviewer's key: signs decisions. The private key lives only in memory."""

    reviewer: Reviewer
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def name(self) -> str:
        return self.reviewer.reviewer

    def sign(self, message: bytes) -> str:
        return b64(self.private.sign(message))


def new_reviewer_key(
    name: str, out: Path | str, passphrase: str, *, created: str
) -> tuple[Path, Path, Reviewer]:
    """Make NAME.key (private, mode 600) and NAME.pub.json in `out`; refuses to overwrite."""
    check_name(name)
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise InputError(f"passphrase too short: use at least {MIN_PASSPHRASE_LENGTH} characters")
    out = Path(out)
    private_path, public_path = out / f"{name}.key", out / f"{name}.pub.json"
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(f"{path}: already exists; a reviewer's key is made once")
    key = Ed25519PrivateKey.generate()
    public = b64(raw_public(key.public_key()))
    salt, log2n = secrets.token_bytes(16), scrypt_log2n()
    master = derive_master_key(passphrase, salt, log2n)
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    private_document = {
        "format": PRIVATE_FORMAT, "reviewer": name, "ed25519": public,
        "kdf": {"name": "scrypt", "salt": b64(salt), "log2n": log2n, "r": 8, "p": 1},
        "wrapped": wrap(master, raw, f"reviewer-key:{name}"),
    }
    body = {"format": PUBLIC_FORMAT, "reviewer": name, "ed25519": public,
            "fingerprint": key_fingerprint(public), "created": created}
    public_document = {**body, "signature": b64(key.sign(_canonical(body)))}
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(private_path, json.dumps(private_document, indent=1) + "\n")
    os.chmod(private_path, 0o600)
    write_text_atomic(public_path, json.dumps(public_document, indent=1) + "\n")
    return private_path, public_path, Reviewer(name, public)


def load_reviewer_key(path: Path | str, passphrase: str) -> ReviewerKey:
    """Unlock a reviewer's private key file."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("format") != PRIVATE_FORMAT:
            raise ValueError("not a reviewer key")
        name, kdf = str(document["reviewer"]), document["kdf"]
        master = derive_master_key(
            passphrase, unb64(kdf["salt"]), int(kdf["log2n"]), int(kdf["r"]), int(kdf["p"])
        )
        wrapped = str(document["wrapped"])
        public = str(document["ed25519"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{path}: not a reviewer's private key file ({type(error).__name__}); make one "
            "with `evalink release reviewer new`"
        ) from None
    try:
        private = Ed25519PrivateKey.from_private_bytes(
            unwrap(master, wrapped, f"reviewer-key:{name}")
        )
    except InvalidTag:
        raise EvalinkError(f"{path}: wrong passphrase for this reviewer's key") from None
    if b64(raw_public(private.public_key())) != public:
        raise EvalinkError(f"{path}: public key does not match the private key (altered)")
    return ReviewerKey(Reviewer(name, public), private)


def read_reviewer_public(path: Path | str) -> Reviewer:
    """The reviewer in a public key file; checks its self-signature."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("format") != PUBLIC_FORMAT:
            raise ValueError("not a reviewer public key")
        body = {k: v for k, v in document.items() if k != "signature"}
        reviewer = Reviewer(str(body["reviewer"]), str(body["ed25519"]))
        signature = str(document["signature"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{path}: not a reviewer's public key file ({type(error).__name__})"
        ) from None
    if not reviewer.verifies(signature, _canonical(body)):
        raise InputError(f"{path}: public key file is not signed by its own key (altered)")
    if body.get("fingerprint") != reviewer.fingerprint:
        raise InputError(f"{path}: fingerprint does not match the key (altered)")
    check_name(reviewer.reviewer)
    return reviewer
