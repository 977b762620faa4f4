"""Costs and benefits in the National Impact Study's form, on a table small enough to
check by hand: events avoided in the window × the plan's unit costs, over the
programme's cost (the keyworker cost per family), with an interval from the same
bootstrap over families as the effects."""

from __future__ import annotations

import pandas as pd
import pytest

from evalink.evaluate.costs import TOTAL, costs
from evalink.evaluate.frame import outcome_data, persons
from evalink.evaluate.plan import load_plan
from evalink.evaluate.weighting import estimate, family_draws
from tests.evaluate.research_rows import dataset, stratum

# Two strata of need, as in test_weighting_spec but with the programme halving the
# chance of being looked after in each: programme 35 of 200 (0.175), comparison in the
# programme's mix 0.25 × 0.20 + 0.75 × 0.40 = 0.35.
HALVED = (
    stratum("a-p", "attached", "2", persons=50, with_event=5)  # 10%
    + stratum("a-c", "eligible_waiting", "2", persons=100, with_event=20)  # 20%
    + stratum("b-p", "attached", "3", persons=150, with_event=30)  # 20%
    + stratum("b-c", "eligible_waiting", "3", persons=50, with_event=20)  # 40%
)


@pytest.fixture
def valued(write_plan):
    plan = load_plan(write_plan()).plan
    people = persons(dataset(HALVED))
    families = pd.Index(sorted(people.table["family"].unique()))
    draws = family_draws(families, 500, seed=3)
    fit = estimate(outcome_data(people, plan, "child_looked_after"), plan.windows,
                   draws=draws, family_index=families, trim=0.001, confidence=0.95)
    rows = costs([fit], plan, people.table, families, draws)
    return {(r.outcome, r.window.label()): r for r in rows}


def test_events_avoided_are_the_rate_difference_times_the_programmes_persons(valued):
    row = valued[("child_looked_after", "7-12")]
    # (0.35 − 0.175) × 200 persons = 35 looked-after episodes avoided.
    assert row.events_avoided == pytest.approx(35, abs=0.1)
    assert row.events_avoided_low < 35 < row.events_avoided_high
    # Valued at the plan's £50,000 an episode: £1.75m.
    assert row.fiscal_value == pytest.approx(1_750_000, rel=1e-3)


def test_the_benefit_per_pound_is_over_the_keyworker_cost_of_every_family_worked_with(valued):
    row = valued[(TOTAL, "7-12")]
    # No family's cost is in the table, so each costs the plan's £1,000: 200 families.
    assert row.programme_cost == pytest.approx(200_000)
    assert row.fiscal_per_pound == pytest.approx(1_750_000 / 200_000, rel=1e-3)  # 8.75
    assert row.fiscal_per_pound_low < 8.75 < row.fiscal_per_pound_high
    # No economic value in the plan's table: the economic benefit is the fiscal one.
    assert row.economic_per_pound == pytest.approx(row.fiscal_per_pound)
