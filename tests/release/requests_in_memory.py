"""Requests built in memory, without a node: for the state machine's spec tests and
its property. Reviewers' keys are real Ed25519 keys, so signatures are real too."""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalink.node.keyring import b64, raw_public
from evalink.release import Request, RequestFile, Reviewer, ReviewerKey

AT = "2020-06-01T09:00:00"


@cache
def key(name: str) -> ReviewerKey:
    private = Ed25519PrivateKey.generate()
    return ReviewerKey(Reviewer(name, b64(raw_public(private.public_key()))), private)


def table_file(name: str, sha: str | None = None, *, passed: bool = True) -> RequestFile:
    sha = sha or (name.encode().hex() * 8)[:64]
    checks = {"kind": "table", "table": sha, "passed": passed,
              "problems": [] if passed else ["a count under the threshold"]}
    return RequestFile(name, sha, 100, checks)


def request(*files: RequestFile, author: str = "alice", author_key: str | None = None) -> Request:
    files = files or (table_file("by_area.csv"), table_file("by_year.csv"))
    return Request(
        id="r1", author=author, author_key=author_key, title="t", reason="Table 2",
        created=AT, files={f.file: f for f in files},
    )


def reviewed_by(req: Request, *names: str, decision: str = "approve") -> Request:
    """Each reviewer decides `decision` on every file and submits."""
    for name in names:
        for file in req.files:
            req.decide(key(name), file, decision, "looked at every cell", AT)
        req.submit_review(key(name), AT)
    return req
