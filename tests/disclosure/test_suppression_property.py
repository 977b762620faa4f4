"""Suppression holds: no suppressed cell of any table can be narrowed, by linear
programming over everything published with it, to less than the width it needs.

Tables are drawn as disclosure problems come: 1 to 3 index columns with skewed
categories (a big one and a tail), combinations no one is in, small counts, zero and
dominant costs; counts and sums, with margins. Then the same property with secondary
suppression off must fail: the audit is evidence that could come out the other way.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalink.disclosure import TableSpec, Thresholds, audit_suppression, safe_table

INDEX = ("area", "family_type", "age_band")
# Skewed: the first category is drawn far more often than the last.
CATEGORIES = ("a", "a", "a", "a", "a", "a", "b", "b", "b", "c", "c", "d")
COSTS = (0.0, 0.0, 5.0, 20.0, 50.0, 100.0, 150.0, 2000.0)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, TableSpec, Thresholds]:
    n_index = draw(st.integers(1, 3))
    index = INDEX[:n_index]
    # Up to 3 categories per index column (27 rows at most) and 4 columns: the
    # audit solves two programmes per suppressed cell, so the property stays fast.
    width = [draw(st.integers(1, 3)) for _ in range(n_index)] + [draw(st.integers(1, 4))]
    row = st.tuples(
        *[st.sampled_from([c for c in CATEGORIES if "abcd".index(c) < w]) for w in width],
        st.sampled_from(COSTS),
    )
    rows = draw(st.lists(row, min_size=1, max_size=60))
    data = pd.DataFrame(rows, columns=[*index, "problem", "cost"])
    aggfunc = draw(st.sampled_from(["count", "sum"]))
    spec = TableSpec(
        index=index,
        columns="problem",
        values=None if aggfunc == "count" else "cost",
        aggfunc=aggfunc,
    )
    thresholds = Thresholds(min_count=draw(st.integers(2, 10)), rounding_base=1)
    return data, spec, thresholds


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(tables())
def test_every_suppressed_cell_is_at_least_as_uncertain_as_it_needs_to_be(drawn):
    data, spec, thresholds = drawn
    made = safe_table(data, thresholds, spec)
    narrow = [i for i in audit_suppression(made) if not i.protected]
    assert narrow == []


def test_without_secondary_suppression_the_property_fails():
    # One small cell and margins: its row total less the rest of its row gives it away.
    data = pd.DataFrame(
        {
            "area": ["north"] * 12 + ["south"] * 13,
            "problem": ["absence"] * 10 + ["crime"] * 2 + ["absence"] * 6 + ["crime"] * 7,
        }
    )
    spec = TableSpec(index=("area",), columns="problem")
    thresholds = Thresholds(min_count=5, rounding_base=1)
    off = audit_suppression(safe_table(data, thresholds, spec, secondary=False))
    on = audit_suppression(safe_table(data, thresholds, spec))
    assert [(i.cell, i.low, i.high) for i in off if not i.protected] == [
        (("north", "crime"), 2.0, 2.0)
    ]
    assert on and all(i.protected for i in on)
