"""The staggered-entry estimator (Callaway & Sant'Anna, via diff-diff), on small worlds
built by hand: families worked with join in different quarters, comparison families
never do, and events are a Poisson process in calendar months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalink.evaluate.staggered import callaway_santanna, person_periods, window_weights

JANUARY_2015 = 2015 * 12
MONTHS = 60  # 2015–2019: ten half-year periods
RATE = 0.15  # events a month per person, before any effect


def world(effect: float, *, families: int = 160, seed: int = 1, months: int = MONTHS,
          joins: tuple[int, ...] = (13, 16, 19, 22, 25, 28, 31, 34, 37, 40)
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Half the families are worked with, joining in the middle month of a quarter from
    `joins` (months since January 2015); the other half wait, identified at a month of
    the same spread. Each family has one or two persons; older persons have 1.5 times
    the event rate, and families worked with are older more often. From its index month
    on a person worked with has the rate times `effect`. Events run for `months` from
    January 2015."""
    rng = np.random.default_rng(seed)
    worked = np.arange(families) % 2 == 0
    index = JANUARY_2015 + np.array(joins)[rng.integers(0, len(joins), families)]
    size = rng.integers(1, 3, families)
    family = np.repeat(np.arange(families), size)
    older = (rng.random(len(family)) < np.where(worked[family], 0.6, 0.4)).astype(float)
    persons = pd.DataFrame({
        "pseudonym": [f"p{i}" for i in range(len(family))],
        "family": [f"f{f}" for f in family],
        "programme": worked[family].astype(int),
        "index_month": index[family].astype(float),
        "older": older,
    })
    calendar = JANUARY_2015 + np.arange(months)
    after = calendar[None, :] >= persons["index_month"].to_numpy()[:, None]
    rate = RATE * (1 + 0.5 * older)[:, None] * np.where(after & worked[family][:, None], effect, 1.0)
    count = rng.poisson(rate)
    person, month = np.nonzero(count)
    person, month = np.repeat(person, count[person, month]), np.repeat(month, count[person, month])
    since = (calendar[month] - persons["index_month"].to_numpy()[person]).astype(float)
    events = pd.DataFrame({
        "pseudonym": persons["pseudonym"].to_numpy()[person],
        "start_lo": since, "start_hi": since, "value": 1.0, "base": np.nan,
    })
    return persons, events


def effects(persons: pd.DataFrame, events: pd.DataFrame, windows=((7, 12), (1, 24)),
            measure: str = "events_per_person_year"):
    return callaway_santanna(persons, events, covariates=["older"], measure=measure,
                             windows=list(windows))


def test_a_programme_that_halves_the_event_rate_is_estimated_near_a_half():
    for effect in effects(*world(effect=0.5)):
        assert effect.estimate == pytest.approx(0.5, abs=0.12)
        assert effect.ci_low < 0.5 < effect.ci_high
        # The counterfactual is the programme's rate with the effect taken off.
        assert effect.comparison_rate == pytest.approx(effect.programme_rate - effect.att)


def test_a_programme_with_no_effect_has_an_interval_that_covers_one():
    for effect in effects(*world(effect=1.0)):
        assert effect.ci_low < 1 < effect.ci_high


def test_a_window_is_the_event_times_that_hold_its_months():
    # Six persons worked with whose index months fall 0, 1, … 5 months into their
    # half-year: months 7–12 after the index are event time 1 for some and 2 for others.
    persons = pd.DataFrame({
        "pseudonym": [f"p{r}" for r in range(6)] + ["c"], "family": [f"f{r}" for r in range(7)],
        "programme": [1] * 6 + [0], "index_month": [JANUARY_2015 + 12 + r for r in range(6)] + [JANUARY_2015],
    })
    events = pd.DataFrame({"pseudonym": ["c"], "start_lo": [59.0], "start_hi": [59.0],
                           "value": [1.0], "base": [np.nan]})
    panel = person_periods(persons, events, covariates=[], measure="any_event", period_months=6)
    assert window_weights(panel, (7, 12)) == pytest.approx({1: 15 / 36, 2: 21 / 36})
    # Event time 0 also holds months before the index date: only a window from month 0 uses it.
    assert window_weights(panel, (0, 0)) == {0: 1.0}
    assert min(window_weights(panel, (1, 24))) == 1


def test_an_event_known_only_to_a_band_of_months_counts_at_its_middle():
    # Index month February 2015; months 7..12 after it are September 2015 to February
    # 2016, middle mid-November 2015: the second half-year.
    persons = pd.DataFrame({"pseudonym": ["p", "c"], "family": ["f1", "f2"], "programme": [1, 0],
                            "index_month": [JANUARY_2015 + 1.0, JANUARY_2015]})
    events = pd.DataFrame({"pseudonym": ["p", "c"], "start_lo": [7.0, 23.0], "start_hi": [12.0, 23.0],
                           "value": 1.0, "base": np.nan})
    panel = person_periods(persons, events, covariates=[], measure="any_event", period_months=6)
    assert panel.outcome[0].tolist() == [0.0, 1.0, 0.0, 0.0]


def late_family_world(late_events_after_index: int = 0, late_events_before_index: int = 0
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five half-years (2015 to mid-2017). Families worked with join in the third
    half-year (March 2016) or the last (February 2017); the rest wait. The late
    families' persons can be given extra events after, or before, their index month,
    all inside the panel."""
    persons, events = world(effect=0.5, families=240, joins=(14, 25), months=30, seed=3)
    late = persons.loc[persons["index_month"] == JANUARY_2015 + 25, "pseudonym"]
    late = late[persons["programme"] == 1]
    after = [(p, float(m % 5)) for p in late for m in range(late_events_after_index)]  # months 25–29
    before = [(p, float(-7 - m % 6)) for p in late for m in range(late_events_before_index)]  # 13–18
    extra = pd.DataFrame(after + before, columns=["pseudonym", "start_lo"]).assign(
        start_hi=lambda t: t["start_lo"], value=1.0, base=np.nan)
    return persons, pd.concat([events, extra], ignore_index=True) if len(extra) else events


def test_a_family_worked_with_later_is_a_comparison_only_before_its_own_index_date():
    # Months 7–12 after March 2016 are the fourth and fifth half-years. In the fifth the
    # late families have joined: whatever happens to them then must not move the estimate.
    quiet = effects(*late_family_world(), windows=[(7, 12)])[0]
    busy = effects(*late_family_world(late_events_after_index=20), windows=[(7, 12)])[0]
    assert quiet.estimate is not None
    assert busy.estimate == pytest.approx(quiet.estimate, rel=1e-9)
    assert busy.att_se == pytest.approx(quiet.att_se, rel=1e-9)


def test_a_family_worked_with_later_is_a_comparison_before_its_index_date():
    # The other half of the rule: before joining, the late families do serve.
    quiet = effects(*late_family_world(), windows=[(7, 12)])[0]
    busy = effects(*late_family_world(late_events_before_index=20), windows=[(7, 12)])[0]
    assert busy.estimate != pytest.approx(quiet.estimate, rel=0.01)


@pytest.mark.parametrize("families, why", [
    (1, "one arm is empty"),
    (3, "diff-diff could not fit"),  # diff-diff raises; the window says so instead
    (6, "fewer than 10 persons"),
])
def test_too_little_data_gives_no_estimate_and_says_why(families, why):
    for effect in effects(*world(effect=0.5, families=families)):
        assert effect.estimate is None
        assert effect.note.startswith(why)


def test_a_window_past_the_end_of_the_data_gives_no_estimate_and_says_why():
    (effect,) = effects(*world(effect=0.5), windows=[(61, 72)])
    assert effect.estimate is None
    assert "no month of the window" in effect.note


def test_a_share_of_sessions_missed_is_compared_over_the_terms_a_person_has():
    # One term a half-year, 120 sessions; the programme halves the share missed. Persons
    # with no term in a half-year (here: every third half-year for odd pseudonyms) have
    # no outcome there, not a zero.
    persons, _ = world(effect=0.5)
    rng = np.random.default_rng(7)
    index = persons.set_index("pseudonym")["index_month"]
    worked = persons.set_index("pseudonym")["programme"]
    terms = []
    for pseudonym in persons["pseudonym"]:
        for half_year in range(MONTHS // 6):
            if int(pseudonym[1:]) % 2 and half_year % 3 == 0:
                continue
            start = JANUARY_2015 + 6 * half_year + 1
            share = 0.1 * (0.5 if worked[pseudonym] and start >= index[pseudonym] else 1.0)
            terms.append((pseudonym, float(start - index[pseudonym]), float(rng.binomial(120, share)), 120.0))
    terms = pd.DataFrame(terms, columns=["pseudonym", "start_lo", "value", "base"]).assign(
        start_hi=lambda t: t["start_lo"])
    (effect,) = effects(persons, terms, windows=[(1, 24)], measure="mean_share")
    assert effect.estimate == pytest.approx(0.5, abs=0.1)
    assert effect.ci_low < 0.5 < effect.ci_high
