"""The airlock at a research node: each command loads a request, makes one change
through `Request` (requests.py, which goes through the state machine), saves it sealed
and audits it. A refusal is audited too, naming the airlock rule, and changes nothing.

    request = new_request(node, [Path("by_area.csv")], reason="Table 2 of the report")
    submit(node, request.id)
    key = load_reviewer_key("keys/bob.key", passphrase)
    review(node, request.id, None, Decision.APPROVE, "counts rounded, no small cells", key)
    submit_review(node, request.id, key)           # ... and a second reviewer the same
    approve(node, request.id, key)
    publish(node, request.id)                      # publish.py
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalink.errors import InputError
from evalink.release import store
from evalink.release.checks import file_checks, refuse_checks_file
from evalink.release.requests import Event, Request, RequestFile
from evalink.release.reviewers import Reviewer, ReviewerKey, check_name, read_reviewer_public
from evalink.release.states import Decision, ReleaseRefused, State

if TYPE_CHECKING:
    from evalink.node import Node


def default_author() -> str:
    """The operating-system account, as the audit log records every session's user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid-{os.getuid()}"


def now(node: Node) -> str:
    return node._clock().isoformat(timespec="seconds")


def new_request(
    node: Node,
    files: Sequence[Path | str],
    *,
    reason: str,
    author: str | None = None,
    author_key: Path | str | None = None,
    title: str | None = None,
    drawn_from: Mapping[str, Sequence[str]] | None = None,
    request_id: str | None = None,
) -> Request:
    """Register a pending request: each file copied into the airlock under its SHA-256,
    with its automatic check result. `author_key`: the public key file of a reviewer
    key the author holds, so that key is refused as a reviewer of this request too.
    `request_id`: a name the author chooses (a script's next commands can then name
    it); else one made of today's date and four random hex digits."""
    _require_research(node)
    if request_id is not None:
        if not _REQUEST_ID.fullmatch(request_id):
            raise InputError(
                f"--id {request_id!r}: a request id is 1 to 64 lower-case letters, digits "
                "and hyphens, starting with a letter or digit"
            )
        if request_id in store.request_ids(node):
            raise InputError(f"--id {request_id}: a request of this id exists already")
    author_name = author
    key_fingerprint = None
    if author_key is not None:
        own = read_reviewer_public(author_key)
        if author_name is not None and author_name != own.reviewer:
            raise InputError(
                f"--author-key {author_key} is the key of another name than --author; give one "
                "or the other, or both of the same person"
            )
        author_name, key_fingerprint = own.reviewer, own.fingerprint
    author_name = check_name(author_name or default_author(), "author name")
    if not reason.strip():
        raise InputError("a release request needs a reason (--reason TEXT)")
    paths = [Path(f) for f in files]
    if not paths:
        raise InputError("a release request needs at least one file (--files ...)")
    names = [p.name for p in paths]
    try:
        for name in names:
            refuse_checks_file(name)
    except ReleaseRefused as refusal:
        node.audit.record("refused", operation="release-request", rule=refusal.rule)
        raise
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"two files are named '{repeated[0]}'; a request names each file once")
    drawn = {k: tuple(v) for k, v in (drawn_from or {}).items()}
    for name, sources in drawn.items():
        if name not in names:
            raise InputError(f"--drawn-from names '{name}', which is not a file of this request")
        if name.lower().endswith(".csv"):
            raise InputError(
                f"--drawn-from {name}: a CSV in a request is a table made by `evalink table`, "
                "checked as it is; --drawn-from is for charts and reports"
            )
        for source in sources:
            if source not in names:
                raise InputError(f"--drawn-from {name}: '{source}' is not a file of this request")
    content = {p.name: _read(p) for p in paths}
    digests = {name: store.keep_file(node, data) for name, data in content.items()}
    checks = file_checks(node, digests, content, drawn)
    request_id = request_id or _new_id(node)
    request = Request(
        id=request_id, author=author_name, author_key=key_fingerprint,
        title=(title or "").strip() or ", ".join(names), reason=reason.strip(), created=now(node),
        files={
            name: RequestFile(name, digests[name], len(content[name]), checks[name],
                              drawn.get(name, ()))
            for name in names
        },
    )
    store.save_request_document(node, request_id, request.to_document())
    node.audit.record(
        "release-request", request=request_id, author=author_name,
        files={name: f.sha256 for name, f in request.files.items()},
        checks={name: ("passed" if f.passed else "not passed") for name, f in request.files.items()},
    )
    return request


def get_request(node: Node, request_id: str) -> Request:
    return Request.from_document(store.load_request_document(node, request_id))


def requests(node: Node) -> list[Request]:
    return [get_request(node, request_id) for request_id in store.request_ids(node)]


def submit(node: Node, request_id: str, *, author: str | None = None) -> Request:
    return _change(node, request_id, "submit",
                   lambda r: r.submit(author or default_author(), now(node)))


def withdraw(node: Node, request_id: str, *, author: str | None = None, reason: str = "") -> Request:
    return _change(node, request_id, "withdraw",
                   lambda r: r.withdraw(author or default_author(), now(node), reason))


def replace_file(
    node: Node, request_id: str, file: str, with_path: Path | str, *, author: str | None = None
) -> Request:
    """Replace one file's bytes (pending or returned only). Its reviews are reset, and
    so are those of a chart or report drawn from it, whose check result changes too."""
    with_path = Path(with_path)
    refuse_checks_file(with_path.name)

    def change(request: Request) -> list[Event]:
        if file not in request.files:
            request._file(file)  # the one-line refusal naming the files it has
        data = _read(with_path)
        digests = {name: f.sha256 for name, f in request.files.items()}
        content = {name: store.read_file(node, sha, file=name, request=request_id)
                   for name, sha in digests.items() if name != file}
        digests[file], content[file] = store.keep_file(node, data), data
        drawn = {name: f.drawn_from for name, f in request.files.items() if f.drawn_from}
        checks = file_checks(node, digests, content, drawn)
        files = {
            name: replace(f, sha256=digests[name], checks=checks[name],
                          size=len(content[name]))
            for name, f in request.files.items()
        }
        return request.replace_files(author or default_author(), files, now(node))

    return _change(node, request_id, "replace", change)


def review(
    node: Node,
    request_id: str,
    files: Sequence[str] | None,
    decision: Decision | str,
    reason: str,
    key: ReviewerKey,
) -> Request:
    """A reviewer's decision on the named files (all of the request's if None)."""
    decision = Decision(decision)
    _trusted(node, key.reviewer)

    def change(request: Request) -> list[Event]:
        events: list[Event] = []
        for file in files or list(request.files):
            events += request.decide(key, file, decision, reason, now(node))
        return events

    return _change(node, request_id, "review", change)


def submit_review(node: Node, request_id: str, key: ReviewerKey) -> Request:
    _trusted(node, key.reviewer)
    return _change(node, request_id, "submit-review", lambda r: r.submit_review(key, now(node)))


def approve(node: Node, request_id: str, key: ReviewerKey, reason: str = "") -> Request:
    _trusted(node, key.reviewer)
    return _change(node, request_id, "approve", lambda r: r.approve(key, now(node), reason))


def return_request(node: Node, request_id: str, key: ReviewerKey, reason: str) -> Request:
    _trusted(node, key.reviewer)
    return _change(node, request_id, "return",
                   lambda r: r.return_to_author(key, now(node), reason))


def reject(node: Node, request_id: str, key: ReviewerKey, reason: str) -> Request:
    _trusted(node, key.reviewer)
    return _change(node, request_id, "reject", lambda r: r.reject(key, now(node), reason))


def view(request: Request, viewer: Reviewer | None = None) -> dict[str, Any]:
    """What `show` prints of a request to `viewer` (a reviewer proven by their key, or
    None): every decision the viewer may see, the others counted but hidden."""
    reviews = []
    for name, review_ in sorted(request.reviews.items()):
        decisions = {}
        hidden = 0
        for file, decision in sorted(review_.decisions.items()):
            if request.visible(name, decision, viewer):
                decisions[file] = {
                    "decision": str(decision.decision), "reason": decision.reason,
                    "current": decision.matches(request.files[file]), "at": decision.at,
                }
            else:
                hidden += 1
        mine = viewer is not None and viewer == review_.reviewer
        if not decisions and not mine and not review_.submitted:
            continue  # someone else's draft: not even that it exists
        reviews.append({"reviewer": name, "submitted": review_.submitted,
                        "decisions": decisions, "hidden": hidden})
    return {
        "request": request.id, "state": str(request.state), "turn": request.turn,
        "title": request.title, "reason": request.reason, "author": request.author,
        "created": request.created,
        "files": [
            {"file": f.file, "sha256": f.sha256, "size": f.size, "kind": f.kind,
             "passed": f.passed, "problems": list(f.checks.get("problems", [])),
             "drawn_from": list(f.drawn_from), "summary": f.checks.get("summary"),
             "approvals": len(request.approvals(f.file))
             if request.state not in (State.SUBMITTED, State.PARTIALLY_REVIEWED) else None}
            for f in request.files.values()
        ],
        "reviews_submitted": sum(r.submitted for r in request.reviews.values()),
        "reviews": reviews,
        "history": list(request.history),
    }


# --- inside -------------------------------------------------------------------------

def _change(
    node: Node, request_id: str, operation: str, change: Callable[[Request], list[Event]]
) -> Request:
    _require_research(node)
    request = get_request(node, request_id)
    try:
        events = change(request)
    except ReleaseRefused as refusal:
        node.audit.record("refused", operation=f"release-{operation}", request=request_id,
                          rule=refusal.rule)
        raise
    store.save_request_document(node, request_id, request.to_document())
    for action, details in events:
        node.audit.record(action, **details)
    return request


def _trusted(node: Node, reviewer: Reviewer) -> None:
    try:
        store.trusted_reviewer(node, reviewer)
    except InputError:
        node.audit.record("refused", operation="release-review", reviewer=reviewer.reviewer,
                          fingerprint=reviewer.fingerprint, rule="trusted-reviewers")
        raise


def _require_research(node: Node) -> None:
    """Requests are made where the outputs are: at a node that sends to a party with
    disclosure rules (the research node), not at the public node itself."""
    senders = {flow.from_ for flow in node.policy.document.flows
               if node.policy.disclosure_rules(flow.to) is not None}
    if node.party not in senders:
        raise InputError(
            f"node '{node.party}' publishes nothing (no flow from it to a party with "
            "disclosure rules); release requests are made at the research node"
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read ({type(error).__name__})") from None


_REQUEST_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _new_id(node: Node) -> str:
    existing = set(store.request_ids(node))
    while True:
        request_id = f"{node.today():%Y%m%d}-{secrets.token_hex(2)}"
        if request_id not in existing:
            return request_id
