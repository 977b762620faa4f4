"""Property: whatever anyone tries, in any order, nothing reaches `released` without
two distinct reviewers, neither the author, approving every file's current bytes (and
check result) with signatures that verify; and an action refused changes nothing."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from evalink.errors import InputError
from evalink.release import Decision, ReleaseRefused, Request, State
from evalink.release.reviewers import decision_message, reason_digest
from tests.release.requests_in_memory import AT, key, request, table_file

PEOPLE = ("alice", "alice-work", "bob", "carol", "dave")  # alice is the author
FILES = ("by_area.csv", "by_year.csv")
AUTHOR_KEY = key("alice-work").reviewer.fingerprint

person = st.sampled_from(PEOPLE)
file = st.sampled_from(FILES)
action = st.one_of(
    st.tuples(st.just("submit"), person),
    st.tuples(st.just("withdraw"), person),
    st.tuples(st.just("replace"), person, file, st.integers(0, 3)),
    st.tuples(st.just("decide"), person, file, st.sampled_from(list(Decision))),
    st.tuples(st.just("decide-all"), person, st.sampled_from(list(Decision))),
    st.tuples(st.just("submit-review"), person),
    st.tuples(st.just("approve"), person),
    st.tuples(st.just("return"), person),
    st.tuples(st.just("reject"), person),
    st.tuples(st.just("tamper-bytes"), file),
    st.tuples(st.just("tamper-checks"), file),
    st.tuples(st.just("release"),),
)


@st.composite
def sequences(draw: st.DrawFn) -> list[tuple]:
    """Random steps, and, in most sequences, an honest-looking path to release woven
    through them, by reviewers drawn from everyone (the author included): random steps
    alone almost never get a request reviewed twice."""
    steps = draw(st.lists(action, max_size=15))
    if draw(st.integers(0, 3)):
        someone = st.one_of(st.sampled_from(PEOPLE[2:]), person)  # mostly not the author
        first, second, approver = draw(someone), draw(someone), draw(someone)
        path = [("submit", "alice"), ("decide-all", first, Decision.APPROVE),
                ("submit-review", first), ("decide-all", second, Decision.APPROVE),
                ("submit-review", second), ("approve", approver), ("release",)]
        at = sorted(draw(st.lists(st.integers(0, len(steps)), min_size=len(path),
                                  max_size=len(path))))
        for offset, (where, step) in enumerate(zip(at, path, strict=True)):
            steps.insert(where + offset, step)
    return steps


def independently_approved(req) -> bool:
    """Two reviewers (two names and two keys), neither the author's name nor key, each
    with a submitted approval of the file as it is now, signed — checked from the raw
    record, not through the Request's own methods."""
    for name, current in req.files.items():
        if not current.checks.get("passed"):
            return False
        approvers = set()
        for review in req.reviews.values():
            d = review.decisions.get(name)
            who = review.reviewer
            if not review.submitted or d is None or d.decision != Decision.APPROVE:
                continue
            if who.reviewer == req.author or who.fingerprint == req.author_key:
                continue
            if (d.sha256, d.checks_sha256) != (current.sha256, current.checks_sha256):
                continue
            message = decision_message(
                request=req.id, author=req.author, file=name, sha256=current.sha256,
                checks_sha256=current.checks_sha256, decision="approve",
                reason_sha256=reason_digest(d.reason), reviewer=who.reviewer,
            )
            if who.verifies(d.signature, message):
                approvers.add((who.reviewer, who.ed25519))
        if len({n for n, _ in approvers}) < 2 or len({k for _, k in approvers}) < 2:
            return False
    return True


def apply(req, step) -> None:
    kind, *args = step
    if kind == "submit":
        req.submit(args[0], AT)
    elif kind == "withdraw":
        req.withdraw(args[0], AT)
    elif kind == "replace":
        who, name, version = args
        files = dict(req.files)
        files[name] = replace(files[name], sha256=f"{version}{name.encode().hex()}".ljust(64, "0")[:64])
        req.replace_files(who, files, AT)
    elif kind == "decide":
        req.decide(key(args[0]), args[1], args[2], "a reason", AT)
    elif kind == "decide-all":
        for name in FILES:
            req.decide(key(args[0]), name, args[1], "a reason", AT)
    elif kind == "submit-review":
        req.submit_review(key(args[0]), AT)
    elif kind == "approve":
        req.approve(key(args[0]), AT)
    elif kind == "return":
        req.return_to_author(key(args[0]), AT, "a reason")
    elif kind == "reject":
        req.reject(key(args[0]), AT, "a reason")
    elif kind == "tamper-bytes":  # someone edits the file in the airlock
        req.files[args[0]] = replace(req.files[args[0]], sha256="e" * 64)
    elif kind == "tamper-checks":  # a check result now failing (a table re-checked)
        f = req.files[args[0]]
        req.files[args[0]] = replace(f, checks={**f.checks, "passed": False})
    elif kind == "release":
        req.mark_released(AT)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences())
def test_no_sequence_reaches_released_without_two_independent_approvals_of_every_file(steps):
    req = request(table_file(FILES[0]), table_file(FILES[1]), author="alice",
                  author_key=AUTHOR_KEY)
    for step in steps:
        before = req.to_document()
        was = req.state
        # Several decisions in one command are all kept or none, as the airlock saves a
        # request only when the whole command succeeded: try them on a copy.
        trial = Request.from_document(before) if step[0] == "decide-all" else req
        try:
            apply(trial, step)
        except (ReleaseRefused, InputError):
            assert req.to_document() == before, f"refused {step} yet changed the request"
            continue
        req = trial
        if req.state is State.RELEASED and was is not State.RELEASED:
            event("released")
            assert independently_approved(req), steps


def test_the_property_reaches_released_on_an_honest_path():
    """The property is not vacuous: this sequence releases."""
    req = request(table_file(FILES[0]), table_file(FILES[1]), author="alice",
                  author_key=AUTHOR_KEY)
    for step in [("submit", "alice"), ("decide-all", "bob", Decision.APPROVE),
                 ("submit-review", "bob"), ("decide-all", "carol", Decision.APPROVE),
                 ("submit-review", "carol"), ("approve", "dave"), ("release",)]:
        apply(req, step)
    assert req.state is State.RELEASED and independently_approved(req)
