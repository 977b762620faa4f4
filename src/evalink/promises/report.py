"""A promise's state on one day, with the evidence read from the nodes, and how the
states of several days of one run combine into one line per promise."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

KEPT = "kept"
BROKEN = "BROKEN"
# Checked, and not kept, for a risk the policy itself states it does not yet prevent (an
# intruder it measures but does not enforce): said every time, never passed off as kept,
# and not a breach of a rule that is enforced.
NOT_KEPT = "NOT KEPT"
NOT_CHECKED = "not checked in this run"
STATES = (KEPT, BROKEN, NOT_KEPT, NOT_CHECKED)


@dataclass(frozen=True)
class PromiseCheck:
    """One promise of the policy on `checked_on`: `kept` only when a check ran that would
    have come out `BROKEN` had the promise been broken; otherwise `not checked in this
    run`, with the reason. `evidence` holds counts, dataset names, file names and rule
    ids — never a value of anyone's data."""

    promise: str
    state: str
    evidence: str
    checked_on: date

    @property
    def ok(self) -> bool:
        return self.state != BROKEN

    def as_dict(self) -> dict[str, str]:
        return {
            "promise": self.promise,
            "state": self.state,
            "evidence": self.evidence,
            "checked_on": str(self.checked_on),
        }


_STYLES = {KEPT: "green", BROKEN: "bold red", NOT_KEPT: "red", NOT_CHECKED: "yellow"}


def report_line(check: PromiseCheck, *, markup: bool = False) -> str:
    """`kept only-agreed-transfers: evidence…`, the state in colour with `markup` (for
    a rich console printing with markup on)."""
    if not markup:
        return f"{check.state} {check.promise}: {check.evidence}"
    from rich.markup import escape  # a file name in the evidence may hold brackets

    state = f"[{_STYLES[check.state]}]{check.state}[/]"
    return f"{state} {escape(check.promise)}: {escape(check.evidence)}"


def verdict(promise: str, today: date, findings: Sequence[Finding]) -> PromiseCheck:
    """The state the findings of the checks of one promise add up to: BROKEN if any
    check found a breach; NOT KEPT if a check found a risk the policy does not enforce;
    kept if at least one check ran and none did, else not checked."""
    broken = [f.text for f in findings if f.broken]
    if broken:
        return PromiseCheck(promise, BROKEN, "; ".join(broken), today)
    if any(f.not_kept for f in findings):
        return PromiseCheck(promise, NOT_KEPT, "; ".join(f.text for f in findings), today)
    evidence = "; ".join(f.text for f in findings)
    state = KEPT if any(f.checked for f in findings) else NOT_CHECKED
    return PromiseCheck(promise, state, evidence, today)


@dataclass(frozen=True)
class Finding:
    """What one check found. `checked`: the check ran on something that could have
    broken the promise (a node holding the data, a log with transfers in it)."""

    text: str
    checked: bool = True
    broken: bool = False
    not_kept: bool = False


def broken(text: str) -> Finding:
    return Finding(text, checked=True, broken=True)


def checked(text: str) -> Finding:
    return Finding(text, checked=True)


def unchecked(text: str) -> Finding:
    return Finding(text, checked=False)


def not_kept(text: str) -> Finding:
    return Finding(text, checked=True, not_kept=True)


def combine(runs: Iterable[Sequence[PromiseCheck]]) -> list[PromiseCheck]:
    """One line per promise from checks made on several days of one run (the demo checks
    what research holds before research's destruction, and the destruction after it):
    BROKEN on any day is BROKEN; else NOT KEPT on any day is NOT KEPT; else kept on the
    days it was checked, their evidence dated; else not checked, with the latest reason."""
    by_promise: dict[str, list[PromiseCheck]] = {}
    for checks in runs:
        for check in checks:
            by_promise.setdefault(check.promise, []).append(check)
    combined = []
    for promise, checks in by_promise.items():
        for state in (BROKEN, NOT_KEPT, KEPT):
            chosen = [c for c in checks if c.state == state]
            if chosen:
                evidence = " | ".join(f"on {c.checked_on}: {c.evidence}" for c in chosen)
                combined.append(PromiseCheck(promise, state, evidence, chosen[-1].checked_on))
                break
        else:
            combined.append(checks[-1])
    return combined
