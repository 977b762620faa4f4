"""The primary estimator on tables small enough to check by hand.

With one categorical covariate the propensity score is each stratum's share of
programme persons, so weighting the comparison arm by the score's odds gives it the
programme arm's mix of strata: the comparison rate is the programme's stratum shares
times the comparison arm's stratum rates, a standardised rate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalink.evaluate.balance import balance
from evalink.evaluate.frame import outcome_data, persons
from evalink.evaluate.plan import load_plan
from evalink.evaluate.weighting import estimate, family_draws
from tests.evaluate.conftest import small_plan
from tests.evaluate.research_rows import dataset, stratum

# Two strata of need. Within each, families worked with are looked after twice as often
# as families waiting; the programme takes more of the families in greater need (three
# headlines), who are looked after more often, so the crude ratio is biased upwards.
TWO_STRATA = (
    stratum("a-p", "attached", "2", persons=50, with_event=10)  # 20%
    + stratum("a-c", "eligible_waiting", "2", persons=100, with_event=10)  # 10%
    + stratum("b-p", "attached", "3", persons=150, with_event=60)  # 40%
    + stratum("b-c", "eligible_waiting", "3", persons=50, with_event=10)  # 20%
)


def fitted(plan, people_rows, replicates: int = 0):
    people = persons(dataset(people_rows))
    data = outcome_data(people, plan, "child_looked_after")
    families = pd.Index(sorted(people.table["family"].unique()))
    return estimate(data, plan.windows, draws=family_draws(families, replicates, seed=3),
                    family_index=families, trim=0.001, confidence=0.95)


@pytest.fixture
def plan(write_plan):
    return load_plan(write_plan()).plan


def test_the_comparison_rate_is_standardised_to_the_programmes_mix_of_need(plan):
    effect = fitted(plan, TWO_STRATA).effects[0]  # months 7-12
    # Programme: 70 of 200 = 0.35. Comparison, in the programme's mix (a quarter in the
    # first stratum, three quarters in the second): 0.25 × 0.10 + 0.75 × 0.20 = 0.175.
    assert effect.arms.programme_rate == pytest.approx(0.35)
    assert effect.arms.comparison_rate == pytest.approx(0.175, abs=1e-4)
    assert effect.estimate == pytest.approx(2.0, abs=2e-3)
    assert effect.difference == pytest.approx(0.175, abs=1e-4)
    # The crude ratio would be 0.35 / (20 / 150) = 2.63.
    assert (effect.arms.n_programme, effect.arms.n_comparison) == (200, 150)
    assert (effect.arms.families_programme, effect.arms.families_comparison) == (200, 150)


def test_the_interval_is_the_stratified_one_worked_by_hand(plan):
    effect = fitted(plan, TWO_STRATA, replicates=2000).effects[0]
    # Var(log ratio) = Σ π² p(1−p)/n over the programme's strata / 0.35²
    #                + Σ π² c(1−c)/n over the comparison's strata / 0.175²
    programme = (0.25**2 * 0.2 * 0.8 / 50 + 0.75**2 * 0.4 * 0.6 / 150) / 0.35**2
    comparison = (0.25**2 * 0.1 * 0.9 / 100 + 0.75**2 * 0.2 * 0.8 / 50) / 0.175**2
    se = math.sqrt(programme + comparison)  # 0.264
    low, high = 2.0 * math.exp(-1.96 * se), 2.0 * math.exp(1.96 * se)  # 1.19, 3.35
    assert effect.ci_low == pytest.approx(low, rel=0.08)
    assert effect.ci_high == pytest.approx(high, rel=0.08)


def test_a_window_with_too_few_events_has_no_estimate_and_says_why(plan):
    rows = stratum("p", "attached", "2", 30, 2) + stratum("c", "eligible_waiting", "2", 30, 1)
    effect = fitted(plan, rows).effects[0]
    assert effect.estimate is None
    assert "fewer than 5 events" in effect.note


def test_weighting_balances_the_covariate_it_was_given(plan):
    fit = fitted(plan, TWO_STRATA)
    (row,) = balance(fit)  # one 0/1 column: the less common count against the other
    assert row.covariate == "headline_count=2"
    assert abs(row.smd_before) > 0.5
    assert abs(row.smd_after) < 0.01


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(
        # At least five in each arm of a stratum: a thinner one is pooled (see below).
        st.tuples(st.integers(5, 30), st.integers(5, 30)), min_size=2, max_size=4
    ),
    seed=st.integers(0, 2**16),
)
def test_with_one_categorical_covariate_the_estimate_is_the_standardised_ratio(counts, seed):
    """Any strata, any sizes: the weighted comparison rate is the comparison's stratum
    rates in the programme's mix, and the covariate is balanced after weighting."""
    plan = small_plan()
    rng = np.random.default_rng(seed)
    rows, expected_programme, expected_comparison, total = [], 0.0, 0.0, 0
    for level, (n_programme, n_comparison) in enumerate(counts):
        headline = str(level + 2)
        events_p, events_c = int(rng.integers(0, n_programme + 1)), int(rng.integers(1, n_comparison + 1))
        rows += stratum(f"{level}p", "attached", headline, n_programme, events_p)
        rows += stratum(f"{level}c", "eligible_waiting", headline, n_comparison, events_c)
        expected_programme += events_p
        expected_comparison += n_programme * events_c / n_comparison
        total += n_programme
    fit = fitted(plan, rows)
    arms = fit.effects[0].arms
    assert arms.programme_rate == pytest.approx(expected_programme / total)
    assert arms.comparison_rate == pytest.approx(expected_comparison / total, rel=0.02, abs=2e-3)
    assert all(abs(row.smd_after) < 0.05 for row in balance(fit))


def test_a_level_the_comparison_arm_lacks_is_pooled_with_its_neighbour(plan):
    # Six programme persons with four headlines and no comparison person with four: no
    # weight can balance that level, so it is compared as "3+" with the level below.
    rows = TWO_STRATA + stratum("c-p", "attached", "4", persons=6, with_event=3)
    fit = fitted(plan, rows)
    assert [row.covariate for row in balance(fit)] == ["headline_count=2"]
    assert fit.data.persons.loc["c-p0", "headline_count=2"] == 0.0
    assert all(abs(row.smd_after) < 0.01 for row in balance(fit))


def test_overlap_weights_stand_both_arms_for_the_families_in_equipoise(write_plan):
    # replace() takes keywords: the plan's primary estimator line, given overlap weights.
    path = write_plan(**{"primary: {method: propensity_weighting, trim: 0.001}":
                         "primary: {method: propensity_weighting, weights: overlap, trim: 0.001}"})
    plan = load_plan(path).plan
    people = persons(dataset(TWO_STRATA))
    data = outcome_data(people, plan, "child_looked_after")
    families = pd.Index(sorted(people.table["family"].unique()))
    fit = estimate(data, plan.windows, draws=family_draws(families, 0, seed=3),
                   family_index=families, trim=0.001, confidence=0.95,
                   estimand=plan.estimators.primary.weights)
    effect = fit.effects[0]
    # Scores 1/3 and 3/4: programme persons weigh 2/3 and 1/4, comparison persons 1/3 and
    # 3/4, so each stratum weighs 33.3 and 37.5 in both arms. Programme:
    # (33.3 × 0.2 + 37.5 × 0.4) / 70.8 = 0.306; comparison (33.3 × 0.1 + 37.5 × 0.2) / 70.8
    # = 0.153: the same ratio of 2 as the effect on families worked with, the rates those
    # of the families in between.
    assert effect.arms.programme_rate == pytest.approx(0.3059, abs=1e-3)
    assert effect.arms.comparison_rate == pytest.approx(0.1529, abs=1e-3)
    assert effect.estimate == pytest.approx(2.0, abs=5e-3)
    # Both arms weighted: the covariate the score holds is balanced exactly.
    (row,) = [b for b in balance(fit) if b.covariate.startswith("headline_count")]
    assert abs(row.smd_after) < 1e-3
    assert row.mean_programme_after != pytest.approx(row.mean_programme)
