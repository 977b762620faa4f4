"""What a node holds and when each part must be destroyed, by the policy's rules.

Read-only: this says what is due; `run.py` destroys it. A part whose rule has not started
counting (a council family whose case has not closed) or that no rule covers is shown
as such, so nothing held is left out of the picture a data protection officer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalink.node import Node, Part
    from evalink.policy import Policy


@dataclass(frozen=True)
class Holding:
    """One part held, its rule and its date."""

    dataset: str
    part: str
    location: str
    rows: int
    received: date | None
    destroy_by: date | None
    rule: str | None
    promises: list[str]
    days_left: int | None  # negative: overdue by that many days

    @property
    def state(self) -> str:
        if self.destroy_by is None:
            return "no date" if self.rule else "no rule"
        if self.days_left is not None and self.days_left < 0:
            return f"overdue by {-self.days_left} days"
        if self.days_left == 0:
            return "due today"
        return f"{self.days_left} days left"


def governing_rule(policy: Policy, party: str, part: Part) -> str | None:
    """The id of the rule that set the part's destroy-by date: the one whose own date
    for this part is that date. With no date, the first rule covering the part (one
    whose event has not happened yet), or None when no rule covers it."""
    if part.rule is not None:  # stored when the part was written or received
        return part.rule
    events = {"receipt": part.received} if part.received else {}
    _, rule = policy.destroy_by_rule(party, part.dataset, events)
    if rule is not None:
        return rule
    rules = policy.retention_rules(party, part.dataset)
    return rules[0].id if rules else None


def status(node: Node) -> list[Holding]:
    """Every part the node holds, soonest due first, with days left on the node's today."""
    today = node.today()
    holdings = []
    for part in node.parts():
        rule = governing_rule(node.policy, node.party, part)
        holdings.append(
            Holding(
                dataset=part.dataset,
                part=part.part_id,
                location=part.location,
                rows=part.rows,
                received=part.received,
                destroy_by=part.destroy_by,
                rule=rule,
                promises=[p.id for p in node.policy.promises_for(rule)] if rule else [],
                days_left=(part.destroy_by - today).days if part.destroy_by else None,
            )
        )
    return sorted(holdings, key=lambda h: (h.destroy_by or date.max, h.dataset, h.part))
