"""Out of the airlock: `publish` seals exactly the approved bytes to the public node,
and `check_publication` is what the public node runs on receipt before it keeps any
of them.

The package is the node's ordinary `send` (flow research-outputs-to-public, dataset
published_outputs): one row per file (file, kind, sha256, checks, content), and, in the
package's encrypted notes, what the public node needs to check it without trusting the
research node's word: the request, its author, each file's check result and the two
reviewers' signed approvals. The public node then verifies, itself:

    bytes-as-reviewed     every file's bytes hash to the SHA-256 the reviewers signed
    no-checks-files       no OUT.checks.csv
    checks-passed         each check result is the one signed, and says passed; a chart
                          or report is drawn from tables in the same package that passed
    rescan                each CSV table, scanned again as published with the policy's
                          rules (`evalink.disclosure.scan_published`), shows no problem
    two-reviewers         two reviewers this node trusts (two names, two keys) signed an
                          approval of the same SHA-256 and check result
    author-never-reviews  neither of them is the request's author

and refuses anything else, naming the rule, under the policy's disclosure rule
(`published-output-checks`): nothing reaches the public without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pyarrow as pa

from evalink.errors import PolicyViolation
from evalink.release import checks as automatic
from evalink.release import store
from evalink.release.airlock import _change, _require_research, get_request, now
from evalink.release.checks import CHECKS_SUFFIX, TABLE, checks_digest, is_table_file
from evalink.release.requests import Event, Request
from evalink.release.reviewers import Reviewer, ReviewerKey, decision_message, key_fingerprint
from evalink.release.states import Actor, Decision, ReleaseRefused, State, transition

if TYPE_CHECKING:
    from evalink.node import Node

DATASET = "published_outputs"
_FIELDS = ("file", "kind", "sha256", "checks", "content")


@dataclass(frozen=True)
class Published:
    request: str
    package: Path
    files: dict[str, str]  # file → SHA-256
    tables_released: tuple[str, ...]


@dataclass(frozen=True)
class PublishedFile:
    """A file the public node holds, with the check result it was released with."""

    file: str
    kind: str
    sha256: str
    checks: dict[str, Any]
    content: bytes


def publish(node: Node, request_id: str, *, to: str = "public") -> Published:
    """Seal an approved request's files, as approved, to `to`, and mark its tables
    released in the table register (one node transaction); the request is then
    released."""
    _require_research(node)
    request = get_request(node, request_id)
    transition(request.state, State.RELEASED, Actor.PUBLISH, request=request_id)
    trusted = store.trusted_reviewers(node)
    try:
        content = {name: store.read_file(node, f.sha256, file=name, request=request_id)
                   for name, f in request.files.items()}
        problems = request.approval_problems(trusted)
        if problems:
            raise ReleaseRefused(f"request {request_id}: {problems[0]}", rule="two-reviewers")
        tables = [f.sha256 for f in request.files.values() if f.kind == TABLE]
        _still_no_differencing(node, request_id, tables)
    except ReleaseRefused as refusal:
        node.audit.record("refused", operation="release-publish", request=request_id,
                          rule=refusal.rule)
        raise
    names = list(request.files)
    table = pa.table(
        {
            "file": pa.array(names, pa.string()),
            "kind": pa.array([request.files[n].kind for n in names], pa.string()),
            "sha256": pa.array([request.files[n].sha256 for n in names], pa.string()),
            "checks": pa.array([_json(request.files[n].checks) for n in names], pa.string()),
            "content": pa.array([content[n] for n in names], pa.binary()),
        }
    )
    # The register's mark and the package commit together or not at all: a table sent
    # but not marked released would escape the differencing check of every later one.
    with node.transaction(f"release {request_id}"):
        if tables:
            automatic.open_register(node).mark_released(tables, request_id)
        package = node.send(to, DATASET, table, notes={"release": release_notes(request, trusted)})

    def released(current: Request) -> list[Event]:
        published_event: Event = (
            "release-published",
            {"request": request_id, "to": to, "package": package.name,
             "files": {n: request.files[n].sha256 for n in names}},
        )
        return [*current.mark_released(now(node), trusted), published_event]

    _change(node, request_id, "publish", released)
    return Published(request_id, package, {n: request.files[n].sha256 for n in names},
                     tuple(tables))


def release_notes(request: Request, trusted: dict[str, Reviewer] | None = None) -> dict[str, Any]:
    """What travels with the files for the public node to check (aggregates, digests
    and signatures; the reasons stay at the research node, their digests are signed)."""
    from evalink.release.reviewers import reason_digest

    return {
        "request": request.id,
        "author": request.author,
        "author_key": request.author_key,
        "title": request.title,
        "files": [
            {
                "file": name,
                "sha256": f.sha256,
                "checks": f.checks,
                "checks_sha256": f.checks_sha256,
                "approvals": [
                    {"reviewer": reviewer.reviewer, "ed25519": reviewer.ed25519,
                     "reason_sha256": reason_digest(decision.reason),
                     "signature": decision.signature}
                    for reviewer, decision in request.approvals(name, trusted)
                ],
            }
            for name, f in request.files.items()
        ],
    }


def _still_no_differencing(node: Node, request_id: str, tables: list[str]) -> None:
    """Checked when the request was made, and again now: a table released since (by
    another request) may differ from one of these by a small group."""
    if not tables:
        return
    register = automatic.open_register(node)
    for sha in tables:
        conflicts = register.differencing_of(sha, against="released")
        if conflicts:
            raise ReleaseRefused(
                f"request {request_id}: a table of it now differs from a released one: "
                f"{conflicts[0].line()}", rule="differencing",
            )


# --- at the public node -------------------------------------------------------------

def check_publication(node: Node, dataset: str, notes: dict[str, Any], table: pa.Table) -> None:
    """Refuse (PolicyViolation, under the policy's disclosure rule) a package that did
    not come out of an airlock as the rules say; return if it did."""
    rules = node.policy.disclosure_rules(node.party)
    rule_id = rules.id if rules is not None else "published-output-checks"

    def refuse(message: str, airlock_rule: str) -> NoReturn:
        raise PolicyViolation(
            f"{dataset}: {message} (airlock rule '{airlock_rule}'); not imported",
            rule=rule_id, promises=[p.id for p in node.policy.promises_for(rule_id)],
        )

    release = notes.get("release")
    if not isinstance(release, dict) or not isinstance(release.get("files"), list):
        refuse("no airlock release travels with these rows: nothing is published that two "
               "reviewers did not approve", "two-reviewers")
    if set(table.schema.names) != set(_FIELDS):
        refuse(f"the rows are not files ({', '.join(_FIELDS)})", "bytes-as-reviewed")
    rows = {}
    for row in table.to_pylist():
        if row["file"] in rows:
            refuse(f"file '{row['file']}' comes twice", "bytes-as-reviewed")
        rows[row["file"]] = row
    if not rows:
        refuse("the release has no files", "bytes-as-reviewed")
    described = {str(f.get("file")): f for f in release["files"] if isinstance(f, dict)}
    if set(rows) != set(described) or len(described) != len(release["files"]):
        refuse("the files sent are not the files the release describes", "bytes-as-reviewed")
    author, author_key = str(release.get("author")), release.get("author_key")
    trusted = store.trusted_reviewers(node)
    for name, row in rows.items():
        meta = described[name]
        if name.lower().endswith(CHECKS_SUFFIX):
            refuse(f"file '{name}' is a table's checks file (suppressed counts)", "no-checks-files")
        content = row["content"] or b""
        sha = store.sha256_of(content)
        if not sha == row["sha256"] == meta.get("sha256"):
            refuse(f"file '{name}': its bytes do not match the SHA-256 the reviewers approved",
                   "bytes-as-reviewed")
        checks = meta.get("checks")
        if not isinstance(checks, dict) or checks_digest(checks) != meta.get("checks_sha256") \
                or row["checks"] != _json(checks):
            refuse(f"file '{name}': its check result is not the one reviewed", "checks-passed")
        if not checks.get("passed") or checks.get("problems") or checks.get("kind") != row["kind"]:
            refuse(f"file '{name}': its automatic checks did not pass", "checks-passed")
        if is_table_file(name):
            if checks.get("kind") != TABLE or checks.get("table") != sha:
                refuse(f"file '{name}': a CSV is published only as a checked table",
                       "checks-passed")
            problems = automatic.rescan(content, checks["spec"], node.policy, node.party)
            if problems:
                refuse(f"file '{name}': {problems[0]}", "rescan")
        else:
            sources = checks.get("drawn_from") or []
            for source in sources:
                drawn = described.get(str(source.get("file")))
                if drawn is None or drawn.get("sha256") != source.get("table") \
                        or not is_table_file(str(source.get("file"))):
                    refuse(f"file '{name}' is drawn from a table that is not published with it",
                           "checks-passed")
            if not sources:
                refuse(f"file '{name}' is drawn from no checked table", "checks-passed")
        _two_reviewers(name, sha, meta, release, author, author_key, trusted, refuse)


def _two_reviewers(
    name: str, sha: str, meta: dict[str, Any], release: dict[str, Any], author: str,
    author_key: Any, trusted: dict[str, Reviewer], refuse: Any,
) -> None:
    approvers: set[tuple[str, str]] = set()
    by_author = False
    for approval in meta.get("approvals") or []:
        reviewer = Reviewer(str(approval.get("reviewer")), str(approval.get("ed25519")))
        if trusted.get(reviewer.reviewer) != reviewer:
            continue  # not a key this node trusts under that name
        message = decision_message(
            request=str(release.get("request")), author=author, file=name, sha256=sha,
            checks_sha256=str(meta.get("checks_sha256")), decision=str(Decision.APPROVE),
            reason_sha256=str(approval.get("reason_sha256")), reviewer=reviewer.reviewer,
        )
        if not reviewer.verifies(str(approval.get("signature")), message):
            continue
        if reviewer.reviewer == author or key_fingerprint(reviewer.ed25519) == author_key:
            by_author = True
            continue
        approvers.add((reviewer.reviewer, reviewer.ed25519))
    distinct = min(len({n for n, _ in approvers}), len({k for _, k in approvers}))
    if distinct < 2:
        if by_author:
            refuse(f"file '{name}' is approved by its own author", "author-never-reviews")
        refuse(f"file '{name}' carries {distinct} approval(s) signed by reviewers this node "
               "trusts; two are needed", "two-reviewers")


def published(node: Node) -> list[PublishedFile]:
    """The files the public node holds, each checked against its SHA-256 again."""
    if not node.parts(DATASET):
        return []
    held = node.read_dataset(DATASET, purpose="evaluation")
    files = []
    for row in held.to_pylist():
        content = row["content"] or b""
        if store.sha256_of(content) != row["sha256"]:
            raise ReleaseRefused(f"published file '{row['file']}' no longer matches its SHA-256",
                                 rule="bytes-as-reviewed")
        files.append(PublishedFile(row["file"], row["kind"], row["sha256"],
                                   json.loads(row["checks"]), content))
    return files


def rescan_published(node: Node) -> dict[str, list[str]]:
    """Every table the public node holds, scanned again with the policy's rules as it
    is published (`scan_published`): file → problems, [] for a table that shows none.
    Evidence that can fail: a cell under the threshold among them is named here."""
    return {
        item.file: automatic.rescan(item.content, item.checks["spec"], node.policy, node.party)
        for item in published(node) if item.kind == TABLE
    }


def release_outputs(
    node: Node,
    files: Sequence[Path | str],
    *,
    reason: str,
    reviewers: Sequence[ReviewerKey],
    author: str | None = None,
    title: str | None = None,
    drawn_from: Mapping[str, Sequence[str]] | None = None,
    review_reason: str = "checked every cell against the policy's disclosure rules",
    to: str = "public",
) -> Published:
    """The whole airlock in one call, for a demo: request, submit, each reviewer
    approves every file and submits, the first approves the request, publish. Every
    rule applies as it does command by command (two reviewers, neither the author)."""
    from evalink.release.airlock import approve, new_request, review, submit, submit_review

    made = new_request(node, files, reason=reason, author=author, title=title,
                       drawn_from=drawn_from)
    submit(node, made.id, author=made.author)
    for key in reviewers:
        review(node, made.id, None, Decision.APPROVE, review_reason, key)
        submit_review(node, made.id, key)
    approve(node, made.id, reviewers[0])
    return publish(node, made.id, to=to)


def _json(checks: Mapping[str, Any]) -> str:
    return json.dumps(checks, sort_keys=True, separators=(",", ":"))
