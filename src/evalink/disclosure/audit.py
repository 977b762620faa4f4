"""The audit of a safe table's suppression: what an intruder can work out of each
suppressed cell from everything published alongside it (see suppression.py)."""

from __future__ import annotations

from evalink.disclosure.suppression import Interval, intervals
from evalink.disclosure.table import SafeTable


def audit_suppression(table: SafeTable) -> list[Interval]:
    """For every suppressed cell, the least and greatest value it could have given the
    published cells (before rounding, as if the intruder knew them exactly), the
    margins' equations and non-negativity, and the width it needs. A table of means is
    audited on the sums of the same cells: means are not additive."""
    relations = table.relations
    if relations is None:
        return []
    suppressed = table.suppressed()
    found = intervals(relations, suppressed)
    return [
        Interval(relations.cells[i], _tidy(low), _tidy(high), float(relations.needed[i]))
        for i, (low, high) in sorted(found.items())
    ]


def _tidy(number: float) -> float:
    # The solver's last bits of floating-point noise (8.000000000000002) say nothing.
    return round(number, 9) + 0.0
