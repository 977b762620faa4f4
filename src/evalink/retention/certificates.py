"""Destruction certificates: what was destroyed, how, under which rule, signed.

The fields are those of NIST SP 800-88 Rev. 1's certificate of sanitization (Appendix
G) that apply to data rather than to a disk: the media (here a dataset part: dataset,
part, location, rows and the *classes* of its fields — never a value), the method
(cryptographic erase of the part's data key, then deletion of its file and WAL), the
tool, the verification, the due date and the date done, and who did it (the node, by
party and key fingerprint). Each certificate is signed with the node's Ed25519 key and
its id is a hash of its body, so an edited certificate fails twice over.

Certificates live in the node's encrypted catalog, are entered in its audit log and
are exported with `evalink retention certificates --out FILE.json`; anyone holding the
node's public key file can check an exported file (`evalink retention verify`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import evalink
from evalink.errors import InputError
from evalink.files import write_text_atomic
from evalink.node.keyring import b64, unb64

if TYPE_CHECKING:
    from evalink.node import Node, Part
    from evalink.policy import Policy

FORMAT = "evalink-destruction-certificates/1"
CERTIFICATE_FORMAT = "evalink-destruction-certificate/1"
METHOD = (
    "purge by cryptographic erase (NIST SP 800-88 Rev. 1): the part's AES-256 data key "
    "deleted from the key ring and the remaining keys re-wrapped under new key-encryption "
    "keys; then the part's encrypted file and write-ahead log deleted"
)
UNCLASSIFIED = "unclassified"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def field_classes(policy: Policy, dataset: str, fields: list[str]) -> dict[str, list[str]]:
    """The part's fields by class, as the policy classes them (`Policy.field_class`)."""
    classes: dict[str, list[str]] = {}
    for name in fields:
        found = policy.field_class(dataset, name)
        classes.setdefault(found.value if found else UNCLASSIFIED, []).append(name)
    return {k: sorted(v) for k, v in sorted(classes.items())}


def issue(
    node: Node,
    part: Part,
    *,
    rule: str | None,
    reason: str,
    due: date | None,
    rows_destroyed: int,
    rows_kept: int = 0,
) -> dict[str, Any]:
    """A signed certificate for destroying `part` (all of it, or its due rows when
    `rows_kept` rows move to a new part)."""
    body = {
        "format": CERTIFICATE_FORMAT,
        "node": {"party": node.party, "key_fingerprint": node.fingerprint},
        "media": {
            "kind": "dataset part: one encrypted DuckDB database file",
            "dataset": part.dataset,
            "part": part.part_id,
            "location": part.location,
            "rows_destroyed": rows_destroyed,
            "rows_kept_in_a_new_part": rows_kept,
            "field_classes": field_classes(node.policy, part.dataset, part.fields),
            "received": str(part.received) if part.received else None,
        },
        "sanitization": {
            "method": METHOD,
            "tool": f"evalink {evalink.__version__}",
            "verification": (
                "after the erase the node checks that the data key is absent from its key "
                "ring and the part's files are absent; `evalink retention certificates` "
                "checks both again on export"
            ),
        },
        "rule": rule,
        "promises": sorted({
            p.id for one in (rule or "").split(", ") if one for p in node.policy.promises_for(one)
        }),
        "reason": reason,
        "due": str(due) if due else None,
        "done": str(node.today()),
        "recorded_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    certificate_id = "DC-" + hashlib.sha256(_canonical(body)).hexdigest()[:20]
    signed = {"certificate_id": certificate_id, **body}
    signature = b64(node.keyring.signing_key.sign(_canonical(signed)))
    return {"certificate_id": certificate_id, "done": node.today(), "body": signed,
            "signature": signature}


def problems_with(certificate: dict[str, Any], public_key: Ed25519PublicKey) -> list[str]:
    """What is wrong with one exported certificate: empty when it verifies."""
    found = []
    body = certificate.get("certificate")
    signature = certificate.get("signature")
    if not isinstance(body, dict) or not isinstance(signature, str):
        return ["not a certificate (needs 'certificate' and 'signature')"]
    unsigned = {k: v for k, v in body.items() if k != "certificate_id"}
    expected_id = "DC-" + hashlib.sha256(_canonical(unsigned)).hexdigest()[:20]
    if body.get("certificate_id") != expected_id:
        found.append("its id does not match its content (edited)")
    try:
        public_key.verify(unb64(signature), _canonical(body))
    except (InvalidSignature, ValueError):
        found.append("its signature does not verify against the node's key")
    return found


def certificates(node: Node) -> list[dict[str, Any]]:
    """Every certificate the node has issued, as exported: certificate body + signature."""
    return [
        {"certificate": json.loads(body), "signature": signature}
        for _, _, body, signature in node.certificate_rows()
    ]


def verify_certificates(node: Node) -> list[str]:
    """Problems with the node's certificates, checked against its own public key and
    against the node itself: each destroyed part's data key and files must be absent."""
    public = node.keyring.signing_key.public_key()
    found = []
    held_keys = node.keyring.data_key_ids()
    for certificate in certificates(node):
        body = certificate["certificate"]
        label = body.get("certificate_id", "?")
        found += [f"{label}: {p}" for p in problems_with(certificate, public)]
        media = body.get("media", {})
        part = str(media.get("part"))
        if part in held_keys:
            found.append(f"{label}: the data key of part {part} is still in the key ring")
        location = str(media.get("location"))
        path = node.dir / location / "parts" / f"{part}.duckdb"
        if path.exists() or path.with_name(path.name + ".wal").exists():
            found.append(f"{label}: a file of part {part} is still in the node")
    return found


def export_certificates(node: Node, out: Path | str) -> list[dict[str, Any]]:
    """Write every certificate to `out` (JSON, atomically) after verifying them all;
    refuses to export a set that does not verify."""
    problems = verify_certificates(node)
    if problems:
        raise InputError(f"{node.dir}: certificates do not verify: {problems[0]}")
    issued = certificates(node)
    keys = node.keyring.public_keys()
    document = {
        "format": FORMAT,
        "party": node.party,
        "key_fingerprint": node.fingerprint,
        "ed25519": keys["ed25519"],
        "certificates": issued,
    }
    write_text_atomic(out, json.dumps(document, indent=1, sort_keys=True, default=str) + "\n")
    node.audit.record("export-certificates", file=Path(out).name, certificates=len(issued))
    return issued


def verify_certificate_file(path: Path | str, public_key: Ed25519PublicKey | None = None) -> int:
    """Check an exported certificate file; returns how many certificates verify, or
    raises InputError naming the first that does not. `public_key`: the node's key as
    the reader knows it (from its public key file); without one, the key in the file is
    used, which proves integrity but not who issued it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a certificate file ({type(error).__name__})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f"{path}: not an evalink certificate file (format {FORMAT})")
    if public_key is None:
        try:
            public_key = Ed25519PublicKey.from_public_bytes(unb64(str(document["ed25519"])))
        except (KeyError, ValueError):
            raise InputError(f"{path}: the node's public key in the file is unreadable") from None
    issued = document.get("certificates")
    if not isinstance(issued, list):
        raise InputError(f"{path}: 'certificates' must be a list")
    for index, certificate in enumerate(issued, start=1):
        problems = problems_with(certificate, public_key) if isinstance(certificate, dict) \
            else ["not a certificate"]
        if problems:
            label = certificate.get("certificate", {}).get("certificate_id", "?") \
                if isinstance(certificate, dict) else "?"
            raise InputError(
                f"{path}: certificate {index} ({label}) does not verify: {problems[0]}"
            )
    return len(issued)
