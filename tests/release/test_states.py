"""The airlock's state machine and the rules of a request, in memory (no node)."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import pytest

from evalink.errors import InputError
from evalink.release import TRANSITIONS, Actor, Decision, ReleaseRefused, State
from evalink.release.states import ENDS, transition
from tests.release.requests_in_memory import AT, key, request, reviewed_by, table_file

ALLOWED = [(a, b, actor) for a, targets in TRANSITIONS.items() for b, actor in targets.items()]


@pytest.mark.parametrize(("start", "target", "actor"), ALLOWED)
def test_each_transition_of_the_table_is_allowed_to_its_actor_only(start, target, actor):
    transition(start, target, actor, request="r1")
    for other in set(Actor) - {actor}:
        with pytest.raises(ReleaseRefused, match=f"only the {actor}"):
            transition(start, target, other, request="r1")


@pytest.mark.parametrize(("start", "target"), [
    (a, b) for a, b in product(State, State) if b not in TRANSITIONS.get(a, {})
])
def test_every_transition_not_in_the_table_is_refused(start, target):
    for actor in Actor:
        with pytest.raises(ReleaseRefused, match="state-machine"):
            transition(start, target, actor, request="r1")


def test_released_rejected_and_withdrawn_are_ends_and_approved_leads_only_to_released():
    assert {State.RELEASED, State.REJECTED, State.WITHDRAWN} == ENDS
    assert set(TRANSITIONS[State.APPROVED]) == {State.RELEASED}


def _to(state: State):
    """A request brought to `state` the honest way."""
    req = request()
    if state is State.PENDING:
        return req
    req.submit("alice", AT)
    if state is State.RETURNED:
        req.return_to_author(key("bob"), AT, "round the totals")
        return req
    if state in (State.PARTIALLY_REVIEWED, State.REVIEWED, State.APPROVED):
        reviewed_by(req, "bob")
    if state in (State.REVIEWED, State.APPROVED):
        reviewed_by(req, "carol")
    if state is State.APPROVED:
        req.approve(key("bob"), AT)
    return req


def _review(req, who: str) -> list:
    events = [e for f in req.files for e in req.decide(key(who), f, Decision.APPROVE, "ok", AT)]
    return events + req.submit_review(key(who), AT)


TAKE = {
    (State.PENDING, State.SUBMITTED): lambda r: r.submit("alice", AT),
    (State.PENDING, State.WITHDRAWN): lambda r: r.withdraw("alice", AT),
    (State.SUBMITTED, State.PARTIALLY_REVIEWED): lambda r: _review(r, "bob"),
    (State.SUBMITTED, State.RETURNED): lambda r: r.return_to_author(key("bob"), AT, "x"),
    (State.SUBMITTED, State.WITHDRAWN): lambda r: r.withdraw("alice", AT, "not now"),
    (State.PARTIALLY_REVIEWED, State.REVIEWED): lambda r: _review(r, "carol"),
    (State.PARTIALLY_REVIEWED, State.RETURNED): lambda r: r.return_to_author(key("carol"), AT, "x"),
    (State.REVIEWED, State.APPROVED): lambda r: r.approve(key("dave"), AT),
    (State.REVIEWED, State.REJECTED): lambda r: r.reject(key("carol"), AT, "dominant cell"),
    (State.REVIEWED, State.RETURNED): lambda r: r.return_to_author(key("carol"), AT, "x"),
    (State.RETURNED, State.SUBMITTED): lambda r: r.submit("alice", AT),
    (State.RETURNED, State.WITHDRAWN): lambda r: r.withdraw("alice", AT),
    (State.APPROVED, State.RELEASED): lambda r: r.mark_released(AT),
}


def test_every_transition_of_the_table_has_a_way_to_take_it():
    assert set(TAKE) == {(a, b) for a, b, _ in ALLOWED}


@pytest.mark.parametrize(("start", "target"), list(TAKE))
def test_every_transition_is_taken_and_audited(start, target):
    req = _to(start)
    assert req.state is start
    events = TAKE[(start, target)](req)
    assert req.state is target
    moves = [(d["from"], d["to"]) for action, d in events if action == "release-transition"]
    assert moves == [(str(start), str(target))]


def test_the_happy_path_is_audited_transition_by_transition():
    req = request()
    events = req.submit("alice", AT)
    for name in ("bob", "carol"):
        for file in req.files:
            events += req.decide(key(name), file, Decision.APPROVE, "fine", AT)
        events += req.submit_review(key(name), AT)
    events += req.approve(key("bob"), AT)
    events += req.mark_released(AT)
    moves = [(d["from"], d["to"]) for action, d in events if action == "release-transition"]
    assert moves == [("pending", "submitted"), ("submitted", "partially_reviewed"),
                     ("partially_reviewed", "reviewed"), ("reviewed", "approved"),
                     ("approved", "released")]
    assert req.state is State.RELEASED


def test_the_author_cannot_review_their_own_request():
    req = request(author="alice")
    req.submit("alice", AT)
    with pytest.raises(ReleaseRefused, match="author-never-reviews"):
        req.decide(key("alice"), "by_area.csv", Decision.APPROVE, "mine is fine", AT)


def test_the_key_the_author_named_as_theirs_cannot_review_under_another_name():
    req = request(author="alice", author_key=key("alice-work").reviewer.fingerprint)
    req.submit("alice", AT)
    with pytest.raises(ReleaseRefused, match="author-never-reviews"):
        req.decide(key("alice-work"), "by_area.csv", Decision.APPROVE, "fine", AT)


def test_only_the_author_submits_or_withdraws():
    req = request(author="alice")
    with pytest.raises(ReleaseRefused, match="only its author"):
        req.submit("bob", AT)
    with pytest.raises(ReleaseRefused, match="only its author"):
        req.withdraw("bob", AT)


def test_a_request_with_a_file_that_failed_its_checks_cannot_be_submitted():
    req = request(table_file("by_area.csv"), table_file("small.csv", passed=False))
    with pytest.raises(ReleaseRefused, match=r"small.csv.*checks-passed"):
        req.submit("alice", AT)
    assert req.state is State.PENDING


def test_a_single_approval_does_not_approve():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob")
    assert req.state is State.PARTIALLY_REVIEWED
    with pytest.raises(ReleaseRefused, match="state-machine"):
        req.approve(key("bob"), AT)
    assert req.approval_problems()[0].startswith("file 'by_area.csv' is approved by 1 reviewer")


def test_a_review_that_returns_one_file_leaves_the_request_unapprovable():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob")
    req.decide(key("carol"), "by_area.csv", Decision.APPROVE, "fine", AT)
    req.decide(key("carol"), "by_year.csv", Decision.RETURN, "round the totals", AT)
    req.submit_review(key("carol"), AT)
    assert req.state is State.REVIEWED
    with pytest.raises(ReleaseRefused, match=r"by_year.csv.*two-reviewers"):
        req.approve(key("bob"), AT)


def test_a_reviewer_decides_on_every_file_before_submitting():
    req = request()
    req.submit("alice", AT)
    req.decide(key("bob"), "by_area.csv", Decision.APPROVE, "fine", AT)
    with pytest.raises(ReleaseRefused, match=r"no decision yet on file .by_year.csv."):
        req.submit_review(key("bob"), AT)


def test_a_reviewer_cannot_change_a_decision_after_submitting():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob")
    with pytest.raises(ReleaseRefused, match="submitted their review already"):
        req.decide(key("bob"), "by_area.csv", Decision.REJECT, "second thoughts", AT)


def test_a_decision_needs_a_reason():
    req = request()
    req.submit("alice", AT)
    with pytest.raises(ReleaseRefused, match="reason"):
        req.decide(key("bob"), "by_area.csv", Decision.APPROVE, "  ", AT)


def test_an_unknown_file_is_one_line_naming_the_files_of_the_request():
    req = request()
    req.submit("alice", AT)
    with pytest.raises(InputError, match=r"no file .by_age.csv. .*by_area.csv, by_year.csv"):
        req.decide(key("bob"), "by_age.csv", Decision.APPROVE, "fine", AT)


def test_a_reviewer_sees_no_other_decision_until_both_reviews_are_in():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob")
    req.decide(key("carol"), "by_area.csv", Decision.APPROVE, "fine", AT)
    bobs = req.reviews["bob"].decisions["by_area.csv"]
    carols = req.reviews["carol"].decisions["by_area.csv"]
    assert not req.visible("bob", bobs, key("carol").reviewer)
    assert not req.visible("carol", carols, key("bob").reviewer)
    assert not req.visible("bob", bobs, None)
    assert req.visible("carol", carols, key("carol").reviewer)
    req.decide(key("carol"), "by_year.csv", Decision.APPROVE, "fine", AT)
    req.submit_review(key("carol"), AT)
    assert req.visible("bob", bobs, key("carol").reviewer) and req.visible("carol", carols, None)


def test_the_audit_log_hears_of_a_decision_but_not_what_it_was_until_both_are_in():
    req = request()
    req.submit("alice", AT)
    events = req.decide(key("bob"), "by_area.csv", Decision.REJECT, "a small cell", AT)
    assert events[0][0] == "release-decision" and "decision" not in events[0][1]
    req.decide(key("bob"), "by_year.csv", Decision.APPROVE, "fine", AT)
    assert all(action != "release-reviews" for action, _ in req.submit_review(key("bob"), AT))
    for file in req.files:
        req.decide(key("carol"), file, Decision.APPROVE, "fine", AT)
    revealed = [d for action, d in req.submit_review(key("carol"), AT)
                if action == "release-reviews"]
    assert revealed[0]["decisions"]["bob"] == {"by_area.csv": "reject", "by_year.csv": "approve"}


def test_replacing_a_file_resets_that_files_reviews_and_keeps_the_others():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob", "carol")
    req.return_to_author(key("bob"), AT, "by_year.csv: round the totals")
    files = dict(req.files)
    files["by_year.csv"] = replace(files["by_year.csv"], sha256="f" * 64)
    events = req.replace_files("alice", files, AT)
    assert ("release-reviews-reset", {"request": "r1", "file": "by_year.csv",
                                      "reviewers": ["bob", "carol"], "why": "bytes changed"}) in events
    assert all("by_year.csv" not in r.decisions for r in req.reviews.values())
    assert all("by_area.csv" in r.decisions for r in req.reviews.values())


def test_a_resubmitted_request_is_reviewed_again_and_keeps_approvals_of_unchanged_files():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob", "carol")
    req.return_to_author(key("bob"), AT, "by_year.csv: round the totals")
    files = dict(req.files)
    files["by_year.csv"] = replace(files["by_year.csv"], sha256="f" * 64)
    req.replace_files("alice", files, AT)
    req.submit("alice", AT)
    assert req.turn == 2 and req.state is State.SUBMITTED
    assert not any(r.submitted for r in req.reviews.values())
    for name in ("bob", "carol"):
        req.decide(key(name), "by_year.csv", Decision.APPROVE, "rounded now", AT)
        req.submit_review(key(name), AT)
    req.approve(key("carol"), AT)
    assert req.state is State.APPROVED


def test_files_change_only_while_the_author_holds_the_request():
    req = request()
    req.submit("alice", AT)
    with pytest.raises(ReleaseRefused, match="pending or returned"):
        req.replace_files("alice", dict(req.files), AT)


def test_bytes_changed_behind_the_airlocks_back_are_not_released():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob", "carol")
    req.approve(key("bob"), AT)
    req.files["by_area.csv"] = replace(req.files["by_area.csv"], sha256="e" * 64)
    with pytest.raises(ReleaseRefused, match="two-reviewers"):
        req.mark_released(AT)


def test_a_forged_signature_does_not_count_as_an_approval():
    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob", "carol")
    carol = req.reviews["carol"].decisions["by_area.csv"]
    req.reviews["carol"].decisions["by_area.csv"] = replace(
        carol, signature=req.reviews["bob"].decisions["by_area.csv"].signature)
    assert [r.reviewer for r, _ in req.approvals("by_area.csv")] == ["bob"]


def test_a_request_survives_being_kept_and_read_back():
    from evalink.release import Request

    req = request()
    req.submit("alice", AT)
    reviewed_by(req, "bob", "carol")
    again = Request.from_document(req.to_document())
    assert again == req and not again.approval_problems()
