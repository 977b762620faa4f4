"""The motivated intruder's attack, on exact tables small enough to check by hand.

The intruder's knowledge is taken from the exact table (what the council sent and the
departments returned); the attack links it to the released table through the published
rule and counts a unit re-identified when exactly one candidate is compatible and it is
the right one. These tests are the reference for what "compatible" means: a released
value left empty matches anything, a month no one knows is tried over the programme's
whole span, and a released period bounds where the events can sit.
"""

from __future__ import annotations

import polars as pl
import pytest

from evalink.assemble.generalise import LADDER, RELEASED, Generalisation, released
from evalink.assemble.intruder import (
    Risk,
    attack,
    check_columns,
    risky_families,
    unique_in_release,
)
from evalink.errors import InputError
from evalink.policy.spec import Intruder, IntruderEvents
from tests.tables import table

# The exact research table's columns (`research.research_table`), all strings.
EXACT_COLUMNS = (
    "pseudonym", "family_pseudonym", "cohort", "index_month", "index_source",
    "year_of_birth", "sex", "local_authority", "family_size", "headlines", "help_received",
    "keyworker_cost", "source", "outcome", "outcome_detail", "outcome_start", "outcome_end",
    "outcome_value", "outcome_base", "match_probability",
)  # fmt: skip
# What a column a test leaves out holds: every family the same there, so only the
# columns a test shows can tell families apart.
DEFAULTS = {
    "cohort": "attached",
    "index_month": "2015-06",
    "index_source": "attachment",
    "year_of_birth": "1980",
    "sex": "F",
    "local_authority": "Sandwell",
    "headlines": "crime;worklessness",
    "help_received": "keyworker",
    "keyworker_cost": "2000",
}


def exact(text: str) -> pl.DataFrame:
    """An exact research table from the columns a test names; `family_size` is the
    number of members unless given."""
    rows = table(text)
    for column in EXACT_COLUMNS:
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(DEFAULTS.get(column), pl.Utf8).alias(column))
    if rows["family_size"].is_null().all():
        members = pl.col("pseudonym").n_unique().over("family_pseudonym")
        rows = rows.with_columns(family_size=members.cast(pl.Utf8))
    return rows.select(EXACT_COLUMNS)


# What the example policy's council knows of every family it sent: the family's
# programme record and each member's year of birth and sex.
COUNCIL_KNOWS = [
    "cohort", "index_period", "year_of_birth", "sex", "local_authority", "family_size",
    "headlines", "help_received", "keyworker_cost",
]  # fmt: skip
SERVICE_EVENTS = IntruderEvents(
    where={"outcome": ["CIN", "CPP", "LAC", "exclusion", "attendance"]},
    knows=[
        "outcome",
        "outcome_detail",
        "outcome_start_month",
        "outcome_end_month",
        "outcome_value",
        "outcome_base",
    ],
    how_many="all",
)


def council(
    knows: list[str] | None = None,
    *,
    events: IntruderEvents | None = None,
    enforced: bool = True,
    bound: float = 0.01,
    id: str = "council",
) -> Intruder:
    return Intruder(
        id=id,
        description="the council, from the records it sent",
        dataset="research_dataset",
        unit="family",
        knows=COUNCIL_KNOWS if knows is None else knows,
        events=events,
        max_reidentified=bound,
        enforced=enforced,
    )


def outsider(knows: list[str] | None = None) -> Intruder:
    """Someone who knows one person's year of birth, sex and area, and the month of a
    custody sentence that was in the news."""
    return Intruder(
        id="outsider",
        description="knows one custody sentence from the news",
        dataset="research_dataset",
        unit="person",
        knows=["year_of_birth", "sex", "local_authority"] if knows is None else knows,
        events=IntruderEvents(
            where={"outcome": ["conviction"], "outcome_detail": ["custody"]},
            knows=["outcome", "outcome_detail", "outcome_start_month"],
            how_many="one",
        ),
        max_reidentified=0.001,
    )


def attacked(rows: pl.DataFrame, rule: Generalisation, intruder: Intruder) -> Risk:
    return attack(rows, released(rows, rule), rule, intruder)


# --- the council: whole families ------------------------------------------------------

# The Ashes and the Birches: the same members, the same programme record, and keyworker
# costs of £1,210 and £1,390.
TWO_COSTS = exact(
    """
    pseudonym | family_pseudonym | year_of_birth | sex | keyworker_cost
    a1        | A                | 1980          | F   | 1210
    a2        | A                | 2005          | M   | 1210
    b1        | B                | 1980          | F   | 1390
    b2        | B                | 2005          | M   | 1390
    """
)


def test_a_council_that_knows_the_cost_finds_both_families_when_costs_are_kept_to_100():
    risk = attacked(TWO_COSTS, Generalisation(cost_band=100), council())
    assert (risk.units, risk.unique, risk.reidentified) == (2, 2, 2)
    assert risk.found == {"A", "B"}
    assert risk.expected_rate == 1.0


def test_a_cost_band_that_holds_both_costs_leaves_each_family_two_candidates():
    risk = attacked(TWO_COSTS, Generalisation(cost_band=500), council())
    assert (risk.unique, risk.reidentified) == (0, 0)
    assert risk.expected_rate == 0.5  # each family is one of two


def test_a_council_that_does_not_know_the_cost_cannot_use_it():
    knows = [c for c in COUNCIL_KNOWS if c != "keyworker_cost"]
    assert attacked(TWO_COSTS, Generalisation(cost_band=100), council(knows)).reidentified == 0


def test_a_released_value_left_empty_is_compatible_with_any_family():
    rule = Generalisation(cost_band=100)
    withheld = released(TWO_COSTS, rule).with_columns(keyworker_cost=pl.lit(None, pl.Utf8))
    risk = attack(TWO_COSTS, withheld, rule, council())
    # Both costs withheld: each family might be either, and neither is found.
    assert risk.found == set()
    assert risk.expected_rate == (1 / 2 + 1 / 2) / 2


def test_a_family_whose_other_candidates_are_all_found_elsewhere_is_found_by_elimination():
    rule = Generalisation(cost_band=100)
    withheld = released(TWO_COSTS, rule).with_columns(
        keyworker_cost=pl.when(pl.col("family_pseudonym") == "A")
        .then(None)
        .otherwise(pl.col("keyworker_cost"))
    )
    # The release with £1,300 can only be the Birches, so the other is the Ashes.
    assert attack(TWO_COSTS, withheld, rule, council()).found == {"A", "B"}


def test_a_family_is_compared_by_the_whole_of_its_members():
    # The same two kinds of member in both families, in different numbers: the
    # multiset of members tells the families apart even when each member alone does not.
    rows = exact(
        """
        pseudonym | family_pseudonym | year_of_birth | family_size
        a1        | A                | 1980          | 3
        a2        | A                | 2005          | 3
        a3        | A                | 2005          | 3
        b1        | B                | 1980          | 3
        b2        | B                | 1980          | 3
        b3        | B                | 2005          | 3
        """
    )
    assert attacked(rows, Generalisation(), council(["year_of_birth"])).found == {"A", "B"}


def test_a_member_released_without_a_family_link_matches_any_family_with_such_a_member():
    rule = Generalisation(cost_band=500)
    rows = exact(
        """
        pseudonym | family_pseudonym | year_of_birth
        a1        | A                | 1980
        a2        | A                | 2005
        b1        | B                | 1980
        b2        | B                | 2011
        """
    )
    risk = attack(rows, released(rows, rule), rule, council())
    assert risk.found == {"A", "B"}
    unlinked = released(rows, rule).with_columns(
        family_pseudonym=pl.when(pl.col("family_pseudonym") == "A")
        .then(None)
        .otherwise(pl.col("family_pseudonym"))
    )
    risk = attack(rows, unlinked, rule, council())
    # a1 alone (born 1980) could be of either family; a2 alone (2005) only of the
    # Ashes; the Birches are still whole and alone in the release.
    assert risk.targets == 1 + 2  # one family, two lone members
    assert risky_families(rows, risk) == {"A", "B"}


# --- index months no one knows --------------------------------------------------------


# Two families alike in everything but their index month: January and July 2015.
def two_index_months(source: str) -> pl.DataFrame:
    return exact(
        f"""
        pseudonym | family_pseudonym | index_month | index_source
        a1        | A                | 2015-01     | {source}
        b1        | B                | 2015-07     | {source}
        """
    )


def test_the_council_tells_attached_families_apart_by_the_quarter_it_attached_them():
    assert attacked(two_index_months("attachment"), Generalisation(), council()).found == {
        "A",
        "B",
    }


def test_a_waiting_familys_drawn_index_month_is_tried_over_the_whole_programme():
    # The draw is keyed by the project key: the council cannot pin a waiting family's
    # index month, so each released quarter could be either family's.
    risk = attacked(two_index_months("drawn"), Generalisation(), council())
    assert (risk.unique, risk.reidentified) == (0, 0)


def test_the_index_period_bounds_the_events_months_even_for_an_intruder_who_does_not_know_it():
    # The council knows both families' social care episodes by calendar month, but not
    # their (drawn) index months. A "+1" released in 2015-Q1 needs an index month in the
    # quarter one month before an episode: only the Ashes' March episode fits; likewise
    # the Birches' September one for "+1" in 2015-Q3.
    rows = exact(
        """
        pseudonym | family_pseudonym | index_month | index_source | outcome | outcome_start
        a1        | A                | 2015-02     | drawn        | CIN     | 2015-03
        b1        | B                | 2015-08     | drawn        | CIN     | 2015-09
        """
    )
    services = council(["sex"], events=SERVICE_EVENTS)
    assert attacked(rows, Generalisation(), services).found == {"A", "B"}
    # Dropping the index period to two years leaves +1 possible for both episodes.
    assert attacked(rows, Generalisation(index="two_years"), services).found == frozenset()


# --- the outsider: one person, one event ----------------------------------------------

# Two men born in 1990 in Sandwell, each sentenced to custody 7 months after his family's
# index month: in January 2016 (index June 2015) and November 2015 (index April 2015).
TWO_CUSTODIES = exact(
    """
    pseudonym | family_pseudonym | index_month | year_of_birth | sex | outcome    | outcome_detail | outcome_start
    p1        | P                | 2015-06     | 1990          | M   | conviction | custody        | 2016-01
    q1        | Q                | 2015-04     | 1990          | M   | conviction | custody        | 2015-11
    """
)


def test_an_exact_index_month_lets_a_custody_month_from_the_news_find_its_person():
    risk = attacked(TWO_CUSTODIES, Generalisation(index="month"), outsider())
    assert (risk.units, risk.targets, risk.reidentified) == (2, 2, 2)
    assert risk.found == {"p1", "q1"}


def test_under_the_index_quarter_both_custodies_could_be_either_man():
    # Both index months are in 2015-Q2 and both releases say "+7": January 2016 is 7
    # months after June, November 2015 7 months after April, and each is 7 months
    # after some month of the quarter for the other man too.
    risk = attacked(TWO_CUSTODIES, Generalisation(index="quarter"), outsider())
    assert (risk.unique, risk.reidentified) == (0, 0)
    assert risk.expected_rate == 0.5


def test_the_outsider_knows_one_custody_the_first():
    rows = exact(
        """
        pseudonym | family_pseudonym | index_month | year_of_birth | sex | outcome    | outcome_detail | outcome_start
        p1        | P                | 2015-06     | 1990          | M   | conviction | custody        | 2015-07
        p1        | P                | 2015-06     | 1990          | M   | conviction | custody        | 2016-01
        q1        | Q                | 2015-04     | 1990          | M   | conviction | custody        | 2015-11
        """
    )
    # p1's first sentence (July 2015) fits only his own "+1"; q1's fits his "+7" and
    # p1's second. Were both of p1's sentences known, either could be the one read
    # about, and p1 would be one of two.
    assert attacked(rows, Generalisation(), outsider()).found == {"p1"}


def test_a_person_without_a_known_event_is_not_a_target():
    rows = exact(
        """
        pseudonym | family_pseudonym | year_of_birth | sex | outcome | outcome_detail | outcome_start
        p1        | P                | 1990          | M   | JSA     | -              | 2016-01
        q1        | Q                | 1950          | F   | -       | -              | -
        """
    )
    risk = attacked(rows, Generalisation(), outsider())
    assert (risk.units, risk.targets, risk.reidentified) == (2, 0, 0)


def test_a_person_found_alone_puts_their_family_among_the_risky_ones():
    risk = attacked(TWO_CUSTODIES, Generalisation(index="month"), outsider())
    assert risky_families(TWO_CUSTODIES, risk) == {"P", "Q"}


def test_a_conviction_with_its_sentence_withheld_could_still_be_the_custody():
    rows = exact(
        """
        pseudonym | family_pseudonym | index_month | year_of_birth | sex | outcome    | outcome_detail | outcome_start
        p1        | P                | 2015-06     | 1990          | M   | conviction | custody        | 2016-01
        q1        | Q                | 2015-06     | 1990          | M   | conviction | fine           | 2016-01
        """
    )
    rule = Generalisation(index="month")
    withheld = released(rows, rule).with_columns(
        outcome_detail=pl.when(pl.col("pseudonym") == "p1")
        .then(None)
        .otherwise(pl.col("outcome_detail"))
    )
    # The outsider knows p1's custody in January 2016; the release shows one conviction
    # that month of unstated sentence and one that was a fine: p1 is still found.
    assert attack(rows, withheld, rule, outsider()).found == {"p1"}


def test_a_person_intruder_must_know_an_event():
    no_event = outsider().model_copy(update={"events": None})
    with pytest.raises(InputError, match="intruder 'outsider' of persons knows no event"):
        attacked(TWO_CUSTODIES, Generalisation(), no_event)


# --- the policy's intruders name the dataset's columns --------------------------------


def test_an_intruder_knowing_a_column_the_dataset_lacks_is_a_policy_error():
    with pytest.raises(InputError, match="intruder 'council' knows column 'area_code'"):
        check_columns(council([*COUNCIL_KNOWS, "area_code"]), RELEASED)


def test_an_event_column_the_dataset_lacks_is_a_policy_error_too():
    events = IntruderEvents(where={"sentence_type": ["custody"]}, knows=["outcome_start_month"])
    with pytest.raises(InputError, match="intruder 'council' knows column 'sentence_type'"):
        check_columns(council(events=events), RELEASED)


def test_the_attack_checks_the_columns_before_it_runs():
    rule = Generalisation()
    release = released(TWO_COSTS, rule).drop("headlines")
    with pytest.raises(InputError, match="knows column 'headlines'"):
        attack(TWO_COSTS, release, rule, council())


def test_the_policys_intruders_know_only_columns_of_the_research_dataset(example_policy):
    for intruder in example_policy.intruders("research_dataset"):
        check_columns(intruder, RELEASED)


# --- the risk -------------------------------------------------------------------------


def risk(reidentified: int, units: int = 200, **changes) -> Risk:
    return Risk(
        intruder="council",
        unit="family",
        units=units,
        targets=units,
        unique=reidentified,
        reidentified=reidentified,
        expected_rate=0.1,
        bound=0.01,
        **changes,
    )


def test_a_risk_is_within_bound_up_to_and_including_the_policys_share():
    assert (risk(2).share, risk(2).within) == (0.01, True)
    assert (risk(3).share, risk(3).within) == (0.015, False)


def test_a_release_with_no_units_re_identifies_no_share_of_them():
    assert (risk(0, units=0).share, risk(0, units=0).within) == (0.0, True)


def test_a_risk_reports_counts_not_who_was_found():
    reported = risk(3, found=frozenset({"A", "B", "C"})).as_dict()
    assert reported["reidentified"] == 3 and reported["within"] is False
    assert set(reported) == {
        "intruder", "unit", "units", "targets", "unique", "reidentified", "share",
        "expected_rate", "bound", "enforced", "within",
    }  # fmt: skip
    assert "measured, not enforced" in risk(3, enforced=False).line()


# --- the attack on receipt, without the exact values ----------------------------------


def test_the_research_node_counts_families_alone_in_the_release_on_what_the_council_knows():
    rows = exact(
        """
        pseudonym | family_pseudonym | keyworker_cost
        a1        | A                | 1210
        b1        | B                | 1250
        c1        | C                | 1390
        """
    )
    # At £100 the Ashes and the Birches share £1,200; the Cedars' £1,300 is alone.
    assert unique_in_release(released(rows, Generalisation()), council()) == 1
    assert unique_in_release(released(rows, Generalisation(cost_band=500)), council()) == 0


def test_the_research_node_counts_persons_alone_on_a_custody_and_what_the_outsider_knows():
    assert (
        unique_in_release(released(TWO_CUSTODIES, Generalisation(index="month")), outsider()) == 2
    )
    assert unique_in_release(released(TWO_CUSTODIES, Generalisation()), outsider()) == 0


# --- evidence that can fail -----------------------------------------------------------


def test_the_first_rung_without_suppression_re_identifies_a_family_the_attack_can_see():
    # The attack is only evidence if it can come out the other way: the bottom rung,
    # released as it is, gives the council every family its cost singles out.
    name, rule = LADDER[0]
    risk = attack(TWO_COSTS, released(TWO_COSTS, rule), rule, council())
    assert not risk.within, name
    assert risk.reidentified == 2
