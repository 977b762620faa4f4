"""What the airlock keeps at a node, beside its store:

    DIR/airlock/reviewers.sealed          the reviewer keys this node trusts
    DIR/airlock/requests/ID.sealed        one release request: files, checks, reviews
    DIR/airlock/files/SHA256              each file's bytes, named by their SHA-256

The records are JSON sealed with AES-256-GCM under a key derived from the node's key
ring (its store key, through HKDF with a label of its own), with the record's place as
associated data. So a record edited, swapped for another or copied from another node
is refused, and a reviewer's decisions are not readable on disk before both reviews are
in: the blinding `show` applies is not undone by `cat`. The files are outputs waiting
for review, kept in clear so reviewers can open them; read-only, and each is hashed
again before anything is done with it, so an edit is found rather than published.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evalink.errors import EvalinkError, InputError
from evalink.files import write_bytes_atomic
from evalink.node.keyring import b64, unb64
from evalink.release.reviewers import Reviewer, read_reviewer_public
from evalink.release.states import ReleaseRefused

if TYPE_CHECKING:
    from evalink.node import Node

AIRLOCK = "airlock"
_FORMAT = "evalink-airlock-record/1"


def airlock_dir(node: Node) -> Path:
    return node.dir / AIRLOCK


def _record_key(node: Node) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"evalink-airlock-records/1"
    ).derive(node.keyring.store_key)


def write_sealed(node: Node, relative: str, document: dict[str, Any]) -> None:
    plain = json.dumps({"format": _FORMAT, **document}, sort_keys=True).encode("utf-8")
    nonce = os.urandom(12)
    sealed = AESGCM(_record_key(node)).encrypt(nonce, plain, relative.encode("utf-8"))
    path = airlock_dir(node) / relative
    write_bytes_atomic(path, b64(nonce + sealed).encode("ascii") + b"\n")
    os.chmod(path, 0o600)


def read_sealed(node: Node, relative: str) -> dict[str, Any] | None:
    """The record at `relative`, or None if there is none; refused if altered."""
    path = airlock_dir(node) / relative
    try:
        raw = unb64(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise EvalinkError(f"{path}: cannot be read ({type(error).__name__})") from None
    try:
        plain = AESGCM(_record_key(node)).decrypt(raw[:12], raw[12:], relative.encode("utf-8"))
    except InvalidTag:
        raise EvalinkError(
            f"{path}: the airlock record has been altered or is not this node's; restore it"
        ) from None
    document = json.loads(plain)
    document.pop("format", None)
    return dict(document)


# --- the reviewers a node trusts ------------------------------------------------------

def trusted_reviewers(node: Node) -> dict[str, Reviewer]:
    document = read_sealed(node, "reviewers.sealed") or {"reviewers": {}}
    return {name: Reviewer(name, key) for name, key in document["reviewers"].items()}


def trust_reviewer(node: Node, key_file: Path | str, *, replace: bool = False) -> Reviewer:
    """Trust the reviewer in a public key file at this node (research or public)."""
    reviewer = read_reviewer_public(key_file)
    trusted = trusted_reviewers(node)
    current = trusted.get(reviewer.reviewer)
    same_key = [r for r in trusted.values()
                if r.ed25519 == reviewer.ed25519 and r.reviewer != reviewer.reviewer]
    if same_key:
        # One key signing under two names would let one person be both reviewers.
        node.audit.record("refused", operation="trust-reviewer", reviewer=reviewer.reviewer,
                          fingerprint=reviewer.fingerprint, rule="one-key-one-reviewer")
        raise ReleaseRefused(
            f"{key_file}: this key is already trusted for another reviewer; a key signs "
            "for one reviewer only", rule="one-key-one-reviewer",
        )
    if current is not None and current != reviewer and not replace:
        node.audit.record("refused", operation="trust-reviewer", reviewer=reviewer.reviewer,
                          fingerprint=reviewer.fingerprint, rule="key-change")
        raise EvalinkError(
            f"reviewer '{reviewer.reviewer}' is already trusted with key {current.fingerprint}; "
            f"the file has {reviewer.fingerprint}. Confirm the change with the reviewer, then "
            "use --replace"
        )
    trusted[reviewer.reviewer] = reviewer
    write_sealed(node, "reviewers.sealed",
                 {"reviewers": {name: r.ed25519 for name, r in sorted(trusted.items())}})
    node.audit.record(
        "trust-reviewer", reviewer=reviewer.reviewer, fingerprint=reviewer.fingerprint,
        replaced=current.fingerprint if current is not None and current != reviewer else None,
    )
    return reviewer


def trusted_reviewer(node: Node, reviewer: Reviewer) -> Reviewer:
    """`reviewer` if this node trusts exactly that key under that name; else one line."""
    known = trusted_reviewers(node).get(reviewer.reviewer)
    if known is None or known.ed25519 != reviewer.ed25519:
        raise InputError(
            f"unknown reviewer: the key of '{reviewer.reviewer}' (fingerprint "
            f"{reviewer.fingerprint}) is not trusted by node '{node.party}'; trust it with "
            f"`evalink release reviewer trust --node {node.dir} PUBLIC_KEY_FILE`"
        )
    return known


# --- the files under review -----------------------------------------------------------

def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def keep_file(node: Node, content: bytes) -> str:
    """Copy `content` into the airlock, named by its SHA-256; returns the digest."""
    digest = sha256_of(content)
    path = airlock_dir(node) / "files" / digest
    if path.exists() and sha256_of(path.read_bytes()) == digest:
        return digest
    write_bytes_atomic(path, content)
    os.chmod(path, 0o400)  # read-only: an edit is deliberate, and it is found
    return digest


def file_path(node: Node, digest: str) -> Path:
    return airlock_dir(node) / "files" / digest


def read_file(node: Node, digest: str, *, file: str, request: str) -> bytes:
    """The bytes kept under `digest`; refused if they no longer hash to it."""
    path = file_path(node, digest)
    try:
        content = path.read_bytes()
    except OSError:
        raise ReleaseRefused(
            f"request {request}: file '{file}' is missing from the airlock ({path})",
            rule="bytes-as-reviewed",
        ) from None
    if sha256_of(content) != digest:
        raise ReleaseRefused(
            f"request {request}: file '{file}' has changed since it was added (its bytes no "
            f"longer match SHA-256 {digest[:12]}…); what was reviewed is not what is there",
            rule="bytes-as-reviewed",
        )
    return content


# --- requests -------------------------------------------------------------------------

def request_ids(node: Node) -> list[str]:
    folder = airlock_dir(node) / "requests"
    return sorted(p.name.removesuffix(".sealed") for p in folder.glob("*.sealed"))


def load_request_document(node: Node, request_id: str) -> dict[str, Any]:
    document = None
    if request_id and "/" not in request_id and not request_id.startswith("."):
        document = read_sealed(node, f"requests/{request_id}.sealed")
    if document is None:
        raise InputError(
            f"unknown request '{request_id}' at node '{node.party}' "
            f"(`evalink release list --node {node.dir}`)"
        )
    return document


def save_request_document(node: Node, request_id: str, document: dict[str, Any]) -> None:
    write_sealed(node, f"requests/{request_id}.sealed", document)
