"""A release request as data, and every change to it as a method that goes through the
state machine (states.py) and returns what to audit. Nothing here touches a node:
airlock.py loads a request, calls one method, saves it and writes the audit entries,
so the rules can be tested (and property-tested) on their own.

The rules, as OpenSAFELY's Airlock has them:
- the author never reviews: a reviewer bound to the author's name, or the key the
  author named as theirs, is refused;
- each reviewer decides on every file, with a reason, signed over the file's SHA-256
  and its check result's; a decision counts only while both still match the file;
- a reviewer sees no other reviewer's decision until both reviews are in;
- replacing a file resets that file's reviews (and those of a chart drawn from it);
- approval needs two submitted reviews, by two reviewers (two names, two keys), that
  approve every file's current bytes; a single approval releases nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from evalink.release.checks import checks_digest
from evalink.release.reviewers import (
    Reviewer,
    ReviewerKey,
    decision_message,
    reason_digest,
)
from evalink.release.states import (
    AUTHOR_EDITS,
    UNDER_REVIEW,
    Actor,
    Decision,
    ReleaseRefused,
    State,
    transition,
)

REVIEWS_NEEDED = 2
Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class RequestFile:
    """One file of a request, addressed by the SHA-256 of its bytes."""

    file: str
    sha256: str
    size: int
    checks: dict[str, Any]
    drawn_from: tuple[str, ...] = ()

    @property
    def checks_sha256(self) -> str:
        return checks_digest(self.checks)

    @property
    def kind(self) -> str:
        return str(self.checks.get("kind"))

    @property
    def passed(self) -> bool:
        return bool(self.checks.get("passed"))


@dataclass(frozen=True)
class FileDecision:
    """A reviewer's signed decision on one file's bytes and check result."""

    decision: Decision
    reason: str
    sha256: str
    checks_sha256: str
    signature: str
    turn: int
    at: str

    def matches(self, current: RequestFile) -> bool:
        return (self.sha256, self.checks_sha256) == (current.sha256, current.checks_sha256)


@dataclass
class Review:
    """One reviewer's review of a request in the current turn."""

    reviewer: Reviewer
    decisions: dict[str, FileDecision] = field(default_factory=dict)
    submitted: bool = False


@dataclass
class Request:
    id: str
    author: str
    author_key: str | None  # fingerprint of a reviewer key the author holds, if they said
    title: str
    reason: str
    created: str
    files: dict[str, RequestFile]
    state: State = State.PENDING
    turn: int = 1
    reviews: dict[str, Review] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    # --- the author ---------------------------------------------------------------------

    def submit(self, author: str, at: str) -> list[Event]:
        """Pending or returned → submitted. Every file must carry a passed check result."""
        self._as_author(author, "submit")
        start = self.state
        transition(start, State.SUBMITTED, Actor.AUTHOR, request=self.id)
        if not self.files:
            raise ReleaseRefused(f"request {self.id} has no files", rule="checks-passed")
        failing = [f for f in self.files.values() if not f.passed]
        if failing:
            first = failing[0]
            problem = (first.checks.get("problems") or ["no check result"])[0]
            raise ReleaseRefused(
                f"request {self.id}: file '{first.file}' has not passed its automatic checks "
                f"({problem})" + (f"; {len(failing) - 1} more file(s) too" if len(failing) > 1 else ""),
                rule="checks-passed",
            )
        events: list[Event] = []
        if start is State.RETURNED:
            events += self._new_turn()
        return events + self._move(State.SUBMITTED, Actor.AUTHOR, author, at)

    def withdraw(self, author: str, at: str, reason: str = "") -> list[Event]:
        self._as_author(author, "withdraw")
        return self._move(State.WITHDRAWN, Actor.AUTHOR, author, at, reason)

    def replace_files(self, author: str, files: dict[str, RequestFile], at: str) -> list[Event]:
        """The request's files as they now are (one replaced, and every check result
        computed again). Each file whose bytes or check result changed loses every
        decision on it: what was reviewed is no longer what is there."""
        self._as_author(author, "replace a file in")
        if self.state not in AUTHOR_EDITS:
            raise ReleaseRefused(
                f"request {self.id} is {self.state}: its files change only while it is "
                f"pending or returned to its author", rule="state-machine",
            )
        if set(files) != set(self.files):
            raise ValueError("replace_files keeps the request's file names")
        events: list[Event] = []
        for name, new in files.items():
            old = self.files[name]
            if (old.sha256, old.checks_sha256) == (new.sha256, new.checks_sha256):
                continue
            if old.sha256 != new.sha256:
                events.append(("release-file-replaced", {
                    "request": self.id, "file": name, "sha256": new.sha256,
                    "previous_sha256": old.sha256}))
            reset = sorted(r for r, review in self.reviews.items() if name in review.decisions)
            for reviewer in reset:
                del self.reviews[reviewer].decisions[name]
            if reset:
                events.append(("release-reviews-reset", {
                    "request": self.id, "file": name, "reviewers": reset,
                    "why": "bytes changed" if old.sha256 != new.sha256 else "check result changed"}))
        self.files = dict(files)
        return events

    # --- reviewers ----------------------------------------------------------------------

    def decide(
        self, key: ReviewerKey, file: str, decision: Decision | str, reason: str, at: str
    ) -> list[Event]:
        """One reviewer's decision on one file, signed. Not audited with the decision
        itself: the audit log is readable by the other reviewer too."""
        decision = Decision(decision)
        reviewer = key.reviewer
        self._not_the_author(reviewer)
        if self.state not in UNDER_REVIEW:
            raise ReleaseRefused(
                f"request {self.id} is {self.state}; reviews are taken while it is submitted "
                "or partially reviewed", rule="state-machine",
            )
        current = self._file(file)
        if not reason.strip():
            raise ReleaseRefused(f"request {self.id}: a decision needs a reason", rule="reasons")
        if decision is Decision.APPROVE and not current.passed:
            raise ReleaseRefused(
                f"request {self.id}: file '{file}' has not passed its automatic checks and "
                "cannot be approved", rule="checks-passed",
            )
        review = self.reviews.setdefault(reviewer.reviewer, Review(reviewer))
        if review.reviewer != reviewer:
            raise ReleaseRefused(
                f"request {self.id}: reviewer '{reviewer.reviewer}' began this review with "
                "another key", rule="one-key-one-reviewer",
            )
        if review.submitted:
            raise ReleaseRefused(
                f"request {self.id}: reviewer '{reviewer.reviewer}' has submitted their review "
                "already", rule="independent-reviews",
            )
        message = self.decision_message(current, decision, reason, reviewer.reviewer)
        review.decisions[file] = FileDecision(
            decision, reason, current.sha256, current.checks_sha256, key.sign(message),
            self.turn, at,
        )
        return [("release-decision", {
            "request": self.id, "file": file, "sha256": current.sha256,
            "reviewer": reviewer.reviewer, "fingerprint": reviewer.fingerprint})]

    def submit_review(self, key: ReviewerKey, at: str) -> list[Event]:
        """A reviewer's decisions on every file, in: submitted → partially reviewed, or
        partially reviewed → reviewed once a second reviewer's are."""
        reviewer = key.reviewer
        self._not_the_author(reviewer)
        review = self.reviews.get(reviewer.reviewer)
        if review is None or review.reviewer != reviewer:
            raise ReleaseRefused(
                f"request {self.id}: reviewer '{reviewer.reviewer}' has decided on no file yet "
                "(`evalink release review`)", rule="independent-reviews",
            )
        if review.submitted:
            raise ReleaseRefused(
                f"request {self.id}: reviewer '{reviewer.reviewer}' has submitted their review "
                "already", rule="independent-reviews",
            )
        undecided = [f for f, current in self.files.items()
                     if f not in review.decisions or not review.decisions[f].matches(current)]
        if undecided:
            raise ReleaseRefused(
                f"request {self.id}: no decision yet on file '{undecided[0]}'"
                + (f" and {len(undecided) - 1} more" if len(undecided) > 1 else "")
                + "; a review decides on every file", rule="independent-reviews",
            )
        submitted = sum(r.submitted for r in self.reviews.values())
        target = State.PARTIALLY_REVIEWED if submitted == 0 else State.REVIEWED
        transition(self.state, target, Actor.REVIEWER, request=self.id)
        review.submitted = True
        events = self._move(target, Actor.REVIEWER, reviewer.reviewer, at)
        if target is State.REVIEWED:
            events.append(self._decisions_revealed())
        return events

    def approve(self, key: ReviewerKey, at: str, reason: str = "") -> list[Event]:
        """Reviewed → approved: two reviewers approved every file's current bytes."""
        self._not_the_author(key.reviewer)
        transition(self.state, State.APPROVED, Actor.REVIEWER, request=self.id)
        problems = self.approval_problems()
        if problems:
            raise ReleaseRefused(f"request {self.id}: {problems[0]}", rule="two-reviewers")
        return self._move(State.APPROVED, Actor.REVIEWER, key.name, at, reason)

    def return_to_author(self, key: ReviewerKey, at: str, reason: str) -> list[Event]:
        self._not_the_author(key.reviewer)
        self._need_reason(reason)
        transition(self.state, State.RETURNED, Actor.REVIEWER, request=self.id)
        events = [] if self.state is State.REVIEWED else [self._decisions_revealed()]
        return self._move(State.RETURNED, Actor.REVIEWER, key.name, at, reason) + events

    def reject(self, key: ReviewerKey, at: str, reason: str) -> list[Event]:
        self._not_the_author(key.reviewer)
        self._need_reason(reason)
        return self._move(State.REJECTED, Actor.REVIEWER, key.name, at, reason)

    # --- publishing ---------------------------------------------------------------------

    def mark_released(self, at: str, trusted: dict[str, Reviewer] | None = None) -> list[Event]:
        """Approved → released, checked once more: every file's bytes approved by two."""
        transition(self.state, State.RELEASED, Actor.PUBLISH, request=self.id)
        problems = self.approval_problems(trusted)
        if problems:
            raise ReleaseRefused(f"request {self.id}: {problems[0]}", rule="two-reviewers")
        return self._move(State.RELEASED, Actor.PUBLISH, "publish", at)

    def approvals(
        self, file: str, trusted: dict[str, Reviewer] | None = None
    ) -> list[tuple[Reviewer, FileDecision]]:
        """The submitted approvals of the file as it is now, each signature verified, by
        reviewers other than the author (and, given `trusted`, trusted with that key)."""
        current = self.files[file]
        found = []
        for review in self.reviews.values():
            decision = review.decisions.get(file)
            if not review.submitted or decision is None or decision.decision is not Decision.APPROVE:
                continue
            if not decision.matches(current) or self._is_author(review.reviewer):
                continue
            if trusted is not None and trusted.get(review.reviewer.reviewer) != review.reviewer:
                continue
            message = self.decision_message(current, decision.decision, decision.reason,
                                            review.reviewer.reviewer)
            if review.reviewer.verifies(decision.signature, message):
                found.append((review.reviewer, decision))
        return found

    def approval_problems(self, trusted: dict[str, Reviewer] | None = None) -> list[str]:
        """Why this request may not be released as it is; [] if it may."""
        if not self.files:
            return ["it has no files"]
        problems = []
        for name, current in self.files.items():
            if not current.passed:
                problems.append(f"file '{name}' has not passed its automatic checks")
                continue
            approvers = self.approvals(name, trusted)
            names = {r.reviewer for r, _ in approvers}
            keys = {r.ed25519 for r, _ in approvers}
            distinct = min(len(names), len(keys))
            if distinct < REVIEWS_NEEDED:
                problems.append(
                    f"file '{name}' is approved by {distinct} reviewer(s) as its bytes now are; "
                    f"{REVIEWS_NEEDED} independent reviewers, neither the author, must approve it"
                )
        return problems

    def decision_message(
        self, current: RequestFile, decision: Decision, reason: str, reviewer: str
    ) -> bytes:
        return decision_message(
            request=self.id, author=self.author, file=current.file, sha256=current.sha256,
            checks_sha256=current.checks_sha256, decision=str(decision),
            reason_sha256=reason_digest(reason), reviewer=reviewer,
        )

    # --- what a viewer may see ----------------------------------------------------------

    def visible(self, reviewer: str, decision: FileDecision, viewer: Reviewer | None) -> bool:
        """A decision is shown to the reviewer who made it, and to everyone once it is no
        longer independent: both reviews of its turn in, or the review ended."""
        review = self.reviews[reviewer]
        if viewer is not None and viewer == review.reviewer:
            return True
        if decision.turn < self.turn:
            return True  # shown when its turn ended, and unchanged since
        return review.submitted and self.state not in UNDER_REVIEW

    # --- keeping it ---------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id, "author": self.author, "author_key": self.author_key,
            "title": self.title, "reason": self.reason, "created": self.created,
            "state": str(self.state), "turn": self.turn,
            "files": {name: {**asdict(f), "drawn_from": list(f.drawn_from)}
                      for name, f in self.files.items()},
            "reviews": {
                name: {
                    "reviewer": r.reviewer.reviewer, "ed25519": r.reviewer.ed25519,
                    "submitted": r.submitted,
                    "decisions": {f: {**asdict(d), "decision": str(d.decision)}
                                  for f, d in r.decisions.items()},
                }
                for name, r in self.reviews.items()
            },
            "history": list(self.history),
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Request:
        files = {
            name: RequestFile(f["file"], f["sha256"], int(f["size"]), dict(f["checks"]),
                              tuple(f.get("drawn_from", ())))
            for name, f in document["files"].items()
        }
        reviews = {
            name: Review(
                Reviewer(r["reviewer"], r["ed25519"]),
                {f: FileDecision(**{**d, "decision": Decision(d["decision"])})
                 for f, d in r["decisions"].items()},
                bool(r["submitted"]),
            )
            for name, r in document["reviews"].items()
        }
        return cls(
            id=document["id"], author=document["author"], author_key=document.get("author_key"),
            title=document["title"], reason=document["reason"], created=document["created"],
            files=files, state=State(document["state"]), turn=int(document["turn"]),
            reviews=reviews, history=list(document.get("history", [])),
        )

    # --- inside -------------------------------------------------------------------------

    def _move(
        self, target: State, actor: Actor, who: str, at: str, reason: str = ""
    ) -> list[Event]:
        start = self.state
        transition(start, target, actor, request=self.id)
        self.state = target
        entry = {"at": at, "from": str(start), "to": str(target), "by": str(actor), "who": who,
                 "turn": self.turn}
        if reason:
            entry["reason"] = reason
        self.history.append(entry)
        # The reason stays in the request (sealed); the audit log gets its digest.
        details = {k: v for k, v in entry.items() if k not in ("at", "reason")}
        if reason:
            details["reason_sha256"] = reason_digest(reason)
        return [("release-transition", {"request": self.id, **details})]

    def _new_turn(self) -> list[Event]:
        """A resubmitted request is reviewed again from the start, except that a
        reviewer's approval of a file unchanged since stands (Airlock keeps approvals and
        asks again where changes were requested)."""
        self.turn += 1
        kept: dict[str, Review] = {}
        for name, review in self.reviews.items():
            if not review.submitted:
                continue  # a draft no one else has seen stays unseen: it goes
            approvals = {
                f: d for f, d in review.decisions.items()
                if d.decision is Decision.APPROVE and f in self.files and d.matches(self.files[f])
            }
            if approvals:
                kept[name] = Review(review.reviewer, approvals, submitted=False)
        self.reviews = kept
        return [("release-new-turn", {"request": self.id, "turn": self.turn,
                                      "approvals_kept": sum(len(r.decisions) for r in kept.values())})]

    def _decisions_revealed(self) -> Event:
        """The submitted decisions, for the audit log, once no reviewer is still deciding
        independently."""
        return ("release-reviews", {
            "request": self.id, "turn": self.turn,
            "decisions": {
                name: {f: str(d.decision) for f, d in sorted(r.decisions.items())}
                for name, r in sorted(self.reviews.items()) if r.submitted
            },
        })

    def _as_author(self, author: str, what: str) -> None:
        if author != self.author:
            raise ReleaseRefused(
                f"request {self.id}: only its author may {what} it", rule="author-owns-request"
            )

    def _is_author(self, reviewer: Reviewer) -> bool:
        return reviewer.reviewer == self.author or reviewer.fingerprint == self.author_key

    def _not_the_author(self, reviewer: Reviewer) -> None:
        if self._is_author(reviewer):
            raise ReleaseRefused(
                f"request {self.id}: the author never reviews their own request (the key of "
                f"reviewer '{reviewer.reviewer}' is the author's)", rule="author-never-reviews",
            )

    def _need_reason(self, reason: str) -> None:
        if not reason.strip():
            raise ReleaseRefused(f"request {self.id}: give a reason", rule="reasons")

    def _file(self, file: str) -> RequestFile:
        if file not in self.files:
            from evalink.errors import InputError

            raise InputError(
                f"request {self.id} has no file '{file}' (its files: {', '.join(sorted(self.files))})"
            )
        return self.files[file]


def with_checks(files: dict[str, RequestFile], checks: dict[str, dict[str, Any]]) -> dict[str, RequestFile]:
    return {name: replace(f, checks=checks[name]) for name, f in files.items()}
