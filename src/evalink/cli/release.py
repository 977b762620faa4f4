"""`evalink release ...`: the airlock between the research node and the public.

    evalink release reviewer new --name NAME --out DIR        a reviewer's key pair
    evalink release reviewer trust --node DIR NAME.pub.json   at the research and public nodes
    evalink release request --node DIR --files A.csv B.png --reason TEXT [--drawn-from B.png=A.csv]
    evalink release submit --node DIR --request ID
    evalink release review --node DIR --request ID --file A.csv --decision approve --reason TEXT --key KEY
    evalink release submit-review --node DIR --request ID --key KEY
    evalink release approve | return | reject --node DIR --request ID --key KEY
    evalink release publish --node DIR --request ID
    evalink release show | list | replace | withdraw ...

A reviewer's key passphrase comes from --key-passphrase-file, EVALINK_REVIEWER_PASSPHRASE,
EVALINK_REVIEWER_PASSPHRASE_FILE or a prompt on a terminal; the node's as for any command.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from evalink.cli.app import app, clock, console, group
from evalink.cli.node import open_node
from evalink.cli.options import NodeDir, PassphraseFile, ReportFormat
from evalink.cli.passphrase import Source, read_passphrase

if TYPE_CHECKING:
    from evalink.release import ReviewerKey

release_app = group(
    "The airlock: request the release of outputs, review them (two reviewers, neither the "
    "author), publish what both approved to the public node."
)
app.add_typer(release_app, name="release")
reviewer_app = group("Reviewers' keys: make one, trust one at a node, list those trusted.")
release_app.add_typer(reviewer_app, name="reviewer")

REVIEWER_KEY = Source(
    "EVALINK_REVIEWER_PASSPHRASE", "EVALINK_REVIEWER_PASSPHRASE_FILE", "--key-passphrase-file",
    "Reviewer key passphrase",
)
KeyPassphraseFile = typer.Option(
    None, "--key-passphrase-file", metavar="FILE",
    help="Read the reviewer key's passphrase from FILE (mode 600). Otherwise: "
    "EVALINK_REVIEWER_PASSPHRASE, EVALINK_REVIEWER_PASSPHRASE_FILE, or a prompt on a terminal.",
    show_default=False,
)
RequestId = typer.Option(..., "--request", metavar="ID", help="The release request's id.",
                         show_default=False)
KeyFile = typer.Option(..., "--key", metavar="KEY", help="Your reviewer's private key file (NAME.key).",
                       show_default=False)
Author = typer.Option(None, "--author", metavar="NAME",
                      help="The request's author (default: your operating-system user name).")


class DecisionChoice(enum.StrEnum):
    """evalink.release.Decision"""

    approve = "approve"
    return_ = "return"
    reject = "reject"


def _print(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _key(path: Path, passphrase_file: Path | None) -> ReviewerKey:
    from evalink.release import load_reviewer_key

    return load_reviewer_key(path, read_passphrase(REVIEWER_KEY, passphrase_file))


# --- reviewers ----------------------------------------------------------------------

@reviewer_app.command("new")
def reviewer_new(
    name: str = typer.Option(..., "--name", help="The reviewer's name (letters, digits, . _ -)."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Where to write NAME.key and NAME.pub.json."),
    key_passphrase_file: Path | None = KeyPassphraseFile,
) -> None:
    """Make a reviewer's Ed25519 key pair: NAME.key (private, under your passphrase of at
    least 12 characters) and NAME.pub.json (public, bound to NAME) for nodes to trust."""
    from evalink.release import new_reviewer_key

    passphrase = read_passphrase(REVIEWER_KEY, key_passphrase_file, confirm=True)
    private, public, reviewer = new_reviewer_key(
        name, out, passphrase, created=clock()().isoformat(timespec="seconds")
    )
    _print(f"wrote {private} (keep it to yourself) and {public}; fingerprint {reviewer.fingerprint}")


@reviewer_app.command("trust")
def reviewer_trust(
    key_file: Path = typer.Argument(..., metavar="PUBLIC_KEY_FILE", help="A reviewer's NAME.pub.json.",
                                    show_default=False),
    node_dir: Path = NodeDir,
    replace: bool = typer.Option(False, "--replace", help="Replace the reviewer's trusted key."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Trust a reviewer's key at a node: at the research node to take their reviews, at
    the public node to accept what they approved. Compare the fingerprint printed with
    the one the reviewer reads out to you."""
    from evalink.release import trust_reviewer

    with open_node(node_dir, passphrase_file) as node:
        reviewer = trust_reviewer(node, key_file, replace=replace)
    _print(f"trusted reviewer '{reviewer.reviewer}' with fingerprint {reviewer.fingerprint}")


@reviewer_app.command("list")
def reviewer_list(node_dir: Path = NodeDir, passphrase_file: Path | None = PassphraseFile) -> None:
    """The reviewers a node trusts, with their keys' fingerprints."""
    from evalink.release import trusted_reviewers

    with open_node(node_dir, passphrase_file) as node:
        trusted = trusted_reviewers(node)
    if not trusted:
        _print("no reviewers trusted")
    for name, reviewer in sorted(trusted.items()):
        _print(f"{name}: {reviewer.fingerprint}")


# --- the author ---------------------------------------------------------------------

@release_app.command("request")
def request(
    files: list[Path] = typer.Option(..., "--files", metavar="FILE...",
                                     help="The files to release: tables made by `evalink table`, "
                                     "and charts or reports drawn from them."),
    more_files: list[Path] | None = typer.Argument(None, metavar="FILE", show_default=False,
                                                   help="More files, after --files."),
    reason: str = typer.Option(..., "--reason", metavar="TEXT", help="What the outputs are for."),
    node_dir: Path = NodeDir,
    title: str | None = typer.Option(None, "--title", help="A short title (default: the file names)."),
    author: str | None = Author,
    author_key: Path | None = typer.Option(
        None, "--author-key", metavar="PUBLIC_KEY_FILE",
        help="Your own reviewer public key, if you have one: it is then refused as a reviewer "
        "of this request too."),
    drawn_from: list[str] = typer.Option(
        [], "--drawn-from", metavar="FILE=TABLE.csv[,TABLE.csv]",
        help="The tables (of this request) a chart or report is drawn from (repeatable)."),
    request_id: str | None = typer.Option(
        None, "--id", metavar="ID",
        help="Name the request (lower-case letters, digits, hyphens) instead of a made-up id."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Register a release request: each file is copied into the node's airlock under the
    SHA-256 of its bytes, with its automatic check result. The request is pending until
    you `submit` it."""
    from evalink.errors import InputError
    from evalink.release import new_request

    sources: dict[str, list[str]] = {}
    for item in drawn_from:
        file, sep, tables = item.partition("=")
        if not sep or not file.strip() or not tables.strip():
            raise InputError(f"--drawn-from {item!r}: give FILE=TABLE.csv[,TABLE.csv]")
        sources.setdefault(file.strip(), []).extend(
            t.strip() for t in tables.split(",") if t.strip())
    with open_node(node_dir, passphrase_file) as node:
        made = new_request(node, [*files, *(more_files or [])], reason=reason, author=author,
                           author_key=author_key, title=title, drawn_from=sources,
                           request_id=request_id)
    _print(f"request {made.id}: {len(made.files)} file(s), pending; author {made.author}")
    for file in made.files.values():
        _print(f"  {_file_line(file.file, file.sha256, file.passed, list(file.checks.get('problems', [])))}")
    _print(f"  submit it: evalink release submit --node {node_dir} --request {made.id}")


@release_app.command("submit")
def submit(
    request_id: str = RequestId,
    node_dir: Path = NodeDir,
    author: str | None = Author,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Submit a pending (or returned) request for review. Refused while a file has not
    passed its automatic checks."""
    from evalink.release import submit as submit_request

    with open_node(node_dir, passphrase_file) as node:
        made = submit_request(node, request_id, author=author)
    _print(f"request {made.id}: {made.state} (turn {made.turn}); two reviewers, neither you, "
           "must now review every file")


@release_app.command("replace")
def replace(
    request_id: str = RequestId,
    file: str = typer.Option(..., "--file", metavar="NAME", help="The request's file to replace."),
    with_path: Path = typer.Option(..., "--with", metavar="PATH", help="The new bytes."),
    node_dir: Path = NodeDir,
    author: str | None = Author,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Replace a file of a pending or returned request. Its reviews are reset (and those
    of a chart drawn from it)."""
    from evalink.release import replace_file

    with open_node(node_dir, passphrase_file) as node:
        made = replace_file(node, request_id, file, with_path, author=author)
    current = made.files[file]
    _print(f"request {made.id}: {_file_line(file, current.sha256, current.passed, list(current.checks.get('problems', [])))}; "
           "its reviews are reset")


@release_app.command("withdraw")
def withdraw(
    request_id: str = RequestId,
    node_dir: Path = NodeDir,
    reason: str = typer.Option("", "--reason", metavar="TEXT", help="Why (optional)."),
    author: str | None = Author,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Withdraw a request (pending, submitted or returned): it will never be released."""
    from evalink.release import withdraw as withdraw_request

    with open_node(node_dir, passphrase_file) as node:
        made = withdraw_request(node, request_id, author=author, reason=reason)
    _print(f"request {made.id}: {made.state}")


# --- reviewers ----------------------------------------------------------------------

@release_app.command("review")
def review(
    request_id: str = RequestId,
    files: list[str] = typer.Option(..., "--file", metavar="NAME", help="A file of the request (repeatable)."),
    decision: DecisionChoice = typer.Option(..., "--decision", help="approve, return (changes needed) or reject."),
    reason: str = typer.Option(..., "--reason", metavar="TEXT", help="Why: every decision has one."),
    key: Path = KeyFile,
    node_dir: Path = NodeDir,
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Decide on a file of a submitted request, signed with your key. No one else sees it
    until both reviews are in; `submit-review` once you have decided on every file."""
    from evalink.release import review as review_files

    reviewer_key = _key(key, key_passphrase_file)
    with open_node(node_dir, passphrase_file) as node:
        made = review_files(node, request_id, files, decision.value, reason, reviewer_key)
    mine = made.reviews[reviewer_key.name].decisions
    left = [f for f in made.files if f not in mine]
    _print(f"request {made.id}: {decision.value} {', '.join(files)} (signed by "
           f"'{reviewer_key.name}'); " + (f"{len(left)} file(s) left to decide" if left
                                          else "every file decided: submit your review"))


@release_app.command("submit-review")
def submit_review(
    request_id: str = RequestId,
    key: Path = KeyFile,
    node_dir: Path = NodeDir,
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Submit your decisions on every file. Once two reviews are in, both are visible
    and the request can be approved, returned or rejected."""
    from evalink.release import submit_review as submit_decisions

    reviewer_key = _key(key, key_passphrase_file)
    with open_node(node_dir, passphrase_file) as node:
        made = submit_decisions(node, request_id, reviewer_key)
    _print(f"request {made.id}: {made.state}")


def _decide(action: str, request_id: str, key: Path, reason: str, node_dir: Path,
            key_passphrase_file: Path | None, passphrase_file: Path | None) -> None:
    import evalink.release as release

    function = {"approve": release.approve, "return": release.return_request,
                "reject": release.reject}[action]
    reviewer_key = _key(key, key_passphrase_file)
    with open_node(node_dir, passphrase_file) as node:
        made = function(node, request_id, reviewer_key, reason)
    _print(f"request {made.id}: {made.state}")


@release_app.command("approve")
def approve(
    request_id: str = RequestId, key: Path = KeyFile, node_dir: Path = NodeDir,
    reason: str = typer.Option("", "--reason", metavar="TEXT", help="A note (optional)."),
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Approve a reviewed request: refused unless two reviewers, neither the author,
    approved every file as its bytes now are."""
    _decide("approve", request_id, key, reason, node_dir, key_passphrase_file, passphrase_file)


@release_app.command("return")
def return_(
    request_id: str = RequestId, key: Path = KeyFile, node_dir: Path = NodeDir,
    reason: str = typer.Option(..., "--reason", metavar="TEXT", help="What the author must change."),
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Return a request to its author for changes (approvals of unchanged files stand)."""
    _decide("return", request_id, key, reason, node_dir, key_passphrase_file, passphrase_file)


@release_app.command("reject")
def reject(
    request_id: str = RequestId, key: Path = KeyFile, node_dir: Path = NodeDir,
    reason: str = typer.Option(..., "--reason", metavar="TEXT", help="Why it must never be released."),
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Reject a reviewed request: it is closed and will never be released."""
    _decide("reject", request_id, key, reason, node_dir, key_passphrase_file, passphrase_file)


# --- looking ------------------------------------------------------------------------

@release_app.command("show")
def show(
    request_id: str = RequestId,
    node_dir: Path = NodeDir,
    key: Path | None = typer.Option(None, "--key", metavar="KEY",
                                    help="Your reviewer key: show your own decisions too."),
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table or json."),
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """A request: its files, their SHA-256 and check results, its history, and the
    decisions you may see (yours with --key; everyone's once both reviews are in)."""
    from evalink.release import get_request, view

    viewer = _key(key, key_passphrase_file).reviewer if key is not None else None
    with open_node(node_dir, passphrase_file) as node:
        shown = view(get_request(node, request_id), viewer)
    if output is ReportFormat.json:
        typer.echo(json.dumps(shown, indent=1))
        return
    _print_view(shown)


@release_app.command("list")
def list_requests(
    node_dir: Path = NodeDir,
    key: Path | None = typer.Option(None, "--key", metavar="KEY", help="Your reviewer key."),
    key_passphrase_file: Path | None = KeyPassphraseFile,
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Every release request at the node: id, state, author, files, reviews in."""
    from evalink.release import requests, view

    viewer = _key(key, key_passphrase_file).reviewer if key is not None else None
    with open_node(node_dir, passphrase_file) as node:
        shown = [view(r, viewer) for r in requests(node)]
    if not shown:
        _print("no release requests")
    for item in shown:
        _print(_list_line(item, viewer.reviewer if viewer else None))


# --- out ----------------------------------------------------------------------------

@release_app.command("publish")
def publish(
    request_id: str = RequestId,
    node_dir: Path = NodeDir,
    to: str = typer.Option("public", "--to", help="The public party."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """Seal exactly the approved bytes of an approved request to the public node (then
    `evalink deliver` and, there, `evalink receive`, which checks them all again)."""
    from evalink.release import publish as publish_request

    with open_node(node_dir, passphrase_file) as node:
        done = publish_request(node, request_id, to=to)
    _print(f"request {done.request}: released; {len(done.files)} file(s) sealed to '{to}' in "
           f"{done.package}")
    for file, sha in done.files.items():
        _print(f"  {file}  sha256 {sha}")


@release_app.command("published")
def published(
    node_dir: Path = NodeDir,
    out: Path | None = typer.Option(None, "--out", metavar="DIR",
                                    help="Write the files into DIR (they are public)."),
    passphrase_file: Path | None = PassphraseFile,
) -> None:
    """At the public node: the files it holds, each checked against its SHA-256."""
    from evalink.files import write_bytes_atomic
    from evalink.release import published as held

    with open_node(node_dir, passphrase_file) as node:
        files = held(node)
    if not files:
        _print("nothing published")
    for item in files:
        _print(f"{item.file}  {item.kind}  sha256 {item.sha256}")
        if out is not None:
            write_bytes_atomic(out / Path(item.file).name, item.content)
    if out is not None and files:
        _print(f"wrote {len(files)} file(s) to {out}")


# --- printing -----------------------------------------------------------------------

def _file_line(file: str, sha: str, passed: bool, problems: list[str]) -> str:
    state = "checks passed" if passed else f"checks NOT passed: {problems[0] if problems else '?'}"
    return f"{file}  sha256 {sha[:16]}…  {state}"


def _print_view(shown: dict[str, Any]) -> None:
    _print(f"request {shown['request']}: {shown['state']} (turn {shown['turn']}), author "
           f"{shown['author']}, {shown['reviews_submitted']} review(s) submitted")
    _print(f"  title: {shown['title']}")
    _print(f"  reason: {shown['reason']}")
    for file in shown["files"]:
        line = _file_line(file["file"], file["sha256"], file["passed"], file["problems"])
        if file["drawn_from"]:
            line += f"; drawn from {', '.join(file['drawn_from'])}"
        summary = file.get("summary") or {}
        if summary:
            line += (f"; {summary.get('suppressed_primary', 0)} primary and "
                     f"{summary.get('suppressed_secondary', 0)} secondary of "
                     f"{summary.get('cells', 0)} cells suppressed")
        if file["approvals"] is not None:
            line += f"; approved by {file['approvals']} of 2"
        _print(f"  {line}")
    for review in shown["reviews"]:
        state = "submitted" if review["submitted"] else "in progress"
        _print(f"  review by {review['reviewer']} ({state}):")
        for file, decision in review["decisions"].items():
            stale = "" if decision["current"] else " (of bytes since replaced)"
            _print(f"    {file}: {decision['decision']}{stale} — {decision['reason']}")
        if review["hidden"]:
            _print(f"    {review['hidden']} decision(s) hidden until both reviews are in")
    for entry in shown["history"]:
        why = f" — {entry['reason']}" if entry.get("reason") else ""
        who = entry["who"] if entry["who"] == entry["by"] else f"{entry['who']} ({entry['by']})"
        _print(f"  {entry['at']}  {entry['from']} → {entry['to']} by {who}{why}")


def _list_line(item: dict[str, Any], viewer: str | None) -> str:
    files = ", ".join(f["file"] for f in item["files"])
    line = (f"{item['request']}  {item['state']}  author {item['author']}  "
            f"{item['reviews_submitted']}/2 reviews  {files}")
    if viewer is not None:
        mine = next((r for r in item["reviews"] if r["reviewer"] == viewer), None)
        line += "  yours: " + ("submitted" if mine and mine["submitted"] else
                               "in progress" if mine else "not begun")
    return line
