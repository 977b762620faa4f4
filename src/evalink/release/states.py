"""The airlock's one state machine: the states of a release request, who may move it
from one to the next, and nothing else. Every command goes through `transition()`.

    pending ─submit▶ submitted ─review▶ partially_reviewed ─review▶ reviewed ─approve▶ approved
                         │                     │                       │ ─reject▶ rejected
                         └──────return─────────┴──────return───────────┘
                                               ▼
                 returned ─resubmit▶ submitted             approved ─publish▶ released
    pending, submitted, returned ─withdraw▶ withdrawn

As OpenSAFELY's Airlock: the author owns a request while it is pending or returned,
reviewers while it is submitted or under review, and no one after it is approved,
rejected, released or withdrawn (the ends, from which no transition leads).
"""

from __future__ import annotations

import enum

from evalink.errors import EvalinkError


class State(enum.StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    PARTIALLY_REVIEWED = "partially_reviewed"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    RELEASED = "released"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Actor(enum.StrEnum):
    """Who takes a transition: the request's author, a reviewer (never the author, with a
    key the node trusts), or `publish` (which anyone at the node may run: it sends only
    what two reviewers signed)."""

    AUTHOR = "author"
    REVIEWER = "reviewer"
    PUBLISH = "publish"


class Decision(enum.StrEnum):
    """A reviewer's decision on one file."""

    APPROVE = "approve"
    RETURN = "return"  # changes requested: the author may replace the file and resubmit
    REJECT = "reject"  # must never be released


# The one table: from each state, the states it may move to and who moves it there.
TRANSITIONS: dict[State, dict[State, Actor]] = {
    State.PENDING: {State.SUBMITTED: Actor.AUTHOR, State.WITHDRAWN: Actor.AUTHOR},
    State.SUBMITTED: {
        State.PARTIALLY_REVIEWED: Actor.REVIEWER,
        State.RETURNED: Actor.REVIEWER,
        State.WITHDRAWN: Actor.AUTHOR,
    },
    State.PARTIALLY_REVIEWED: {State.REVIEWED: Actor.REVIEWER, State.RETURNED: Actor.REVIEWER},
    State.REVIEWED: {
        State.APPROVED: Actor.REVIEWER,
        State.REJECTED: Actor.REVIEWER,
        State.RETURNED: Actor.REVIEWER,
    },
    State.RETURNED: {State.SUBMITTED: Actor.AUTHOR, State.WITHDRAWN: Actor.AUTHOR},
    State.APPROVED: {State.RELEASED: Actor.PUBLISH},
}

# States in which the author may change the request's files; reviews are taken only in
# the states a reviewer owns before both reviews are in.
AUTHOR_EDITS = frozenset({State.PENDING, State.RETURNED})
UNDER_REVIEW = frozenset({State.SUBMITTED, State.PARTIALLY_REVIEWED})
ENDS = frozenset(State) - frozenset(TRANSITIONS)


class ReleaseRefused(EvalinkError):
    """An airlock rule refuses the action; `rule` names it (see docs/release.md)."""

    def __init__(self, message: str, *, rule: str) -> None:
        self.rule = rule
        super().__init__(f"{message} (airlock rule '{rule}')")


def transition(current: State, target: State, actor: Actor, *, request: str) -> None:
    """Allow `current` → `target` by `actor`, or refuse naming what is allowed instead."""
    allowed = TRANSITIONS.get(current, {})
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing: it is closed"
        raise ReleaseRefused(
            f"request {request} is {current}; it cannot become {target} (from {current}: "
            f"{options})",
            rule="state-machine",
        )
    if allowed[target] is not actor:
        raise ReleaseRefused(
            f"request {request}: only the {allowed[target]} may move it from {current} to "
            f"{target}",
            rule="state-machine",
        )
