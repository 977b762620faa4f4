"""De-identification before research: pseudonyms, the identifier scan, and `deidentify`,
which climbs the generalisation ladder and then withholds, family by family, what still
singles a family out, until every intruder the policy enforces is within its bound and
every combination of quasi-identifiers is shared by k persons."""

from __future__ import annotations

import json

import polars as pl

from evalink.assemble.deidentify import COMPONENTS, components_for, deidentify
from evalink.assemble.generalise import LADDER, released
from evalink.assemble.intruder import attack
from evalink.assemble.pseudonyms import new_project_key, pseudonym
from evalink.assemble.scan import identifier_values, scan
from tests.assemble.test_intruder import SERVICE_EVENTS, council, exact, outsider
from tests.tables import table


def test_a_pseudonym_is_stable_within_a_project():
    key = new_project_key()
    assert pseudonym("R000123", key) == pseudonym("R000123", key)


def test_two_projects_give_the_same_person_different_pseudonyms():
    assert pseudonym("R000123", new_project_key()) != pseudonym("R000123", new_project_key())


def test_a_pseudonym_is_not_the_reference_number_or_its_plain_hash():
    import hashlib

    value = pseudonym("R000123", new_project_key())
    assert "R000123" not in value
    assert value not in hashlib.sha256(b"R000123").hexdigest()


VAULT = table(
    """
    reference_number | forename | surname  | dob        | nino
    R1               | Amrit    | Kaur     | 2008-03-03 | -
    R2               | Jo       | Smith    | 1980-01-01 | QQ123456C
    """
)


def test_the_scan_finds_an_identifier_hidden_in_another_column():
    dataset = table(
        """
        pseudonym | note
        x1        | -
        x2        | qq 123456 c
        x3        | KAUR
        """
    )
    findings = scan(dataset, identifier_values(VAULT, ["forename", "surname", "dob", "nino"]))
    assert {(f.column, f.identifier_field) for f in findings} == {
        ("note", "nino"),
        ("note", "surname"),
    }


def test_the_scan_ignores_values_too_short_to_identify():
    dataset = table(
        """
        pseudonym | initials
        x1        | Jo
        """
    )
    assert scan(dataset, identifier_values(VAULT, ["forename"])) == []


def test_a_clean_dataset_passes_the_scan():
    dataset = table(
        """
        pseudonym | year_of_birth | outcome_start
        x1        | 2008          | 2016-03
        """
    )
    assert scan(dataset, identifier_values(VAULT, ["forename", "surname", "dob", "nino"])) == []


# --- deidentify -----------------------------------------------------------------------

QUASI = ["index_period", "year_of_birth", "sex", "local_authority"]  # the example policy's


def family(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    return rows.filter(pl.col("pseudonym").str.starts_with(name.lower()))


# Three families of a mother born in 1980 and a son born in 2005, alike in everything
# the council knows but their keyworker costs: close together, or one far from the rest.
NEAR_COSTS = exact(
    """
    pseudonym | family_pseudonym | year_of_birth | sex | keyworker_cost
    a1        | A                | 1980          | F   | 1210
    a2        | A                | 2005          | M   | 1210
    b1        | B                | 1980          | F   | 1220
    b2        | B                | 2005          | M   | 1220
    c1        | C                | 1980          | F   | 1390
    c2        | C                | 2005          | M   | 1390
    """
)
FAR_COST = NEAR_COSTS.with_columns(
    keyworker_cost=pl.when(pl.col("family_pseudonym") == "C")
    .then(pl.lit("9390"))
    .otherwise(pl.col("keyworker_cost"))
)


def test_a_cost_band_that_holds_every_cost_is_enough_and_nothing_is_withheld():
    rows = NEAR_COSTS
    out, report = deidentify(rows, [council()], k=2, quasi=QUASI)
    # At £100 the Cedars' £1,300 is theirs alone; £500 bands hold all three families.
    assert report.steps == [LADDER[0][0], LADDER[1][0]]
    assert report.rule.cost_band == 500 and report.families_suppressed == {}
    assert set(out["keyworker_cost"]) == {"1000-1499"}
    assert [r.reidentified for r in report.risks] == [0]
    assert report.within


def test_a_family_singled_out_by_its_cost_has_the_cost_withheld_and_nothing_else():
    rows = FAR_COST
    out, report = deidentify(rows, [council()], k=2, quasi=QUASI)
    # No band on the ladder holds £9,390 with the others: the Cedars' cost is withheld,
    # theirs only, and then the council finds no family.
    assert report.families_suppressed == {"keyworker cost": 1}
    assert family(out, "C")["keyworker_cost"].is_null().all()
    assert family(out, "A")["keyworker_cost"].is_not_null().all()
    assert family(out, "C")["year_of_birth"].is_not_null().all()
    assert [r.reidentified for r in report.risks] == [0]
    assert attack(rows, out, report.rule, council()).reidentified == 0


def test_without_the_withholding_the_same_rule_gives_the_family_away():
    # Evidence that can fail: skip the suppression and the attack finds the Cedars.
    rows = FAR_COST
    _, report = deidentify(rows, [council()], k=2, quasi=QUASI)
    unsuppressed = attack(rows, released(rows, report.rule), report.rule, council())
    assert unsuppressed.found == {"C"} and not unsuppressed.within
    rung0 = LADDER[0][1]
    assert attack(rows, released(rows, rung0), rung0, council()).found == {"C"}


def test_the_before_figures_are_the_attack_on_the_exact_values():
    rows = NEAR_COSTS
    _, report = deidentify(rows, [council()], k=2, quasi=QUASI)
    # Exact costs tell all three families apart; the release tells none.
    assert [(r.intruder, r.reidentified) for r in report.before] == [("council", 3)]
    assert [r.reidentified for r in report.risks] == [0]


def test_the_ladder_climbs_until_every_quasi_identifier_combination_is_shared_by_k():
    rows = exact(
        """
        pseudonym | family_pseudonym | year_of_birth
        a1        | A                | 1980
        b1        | B                | 1981
        c1        | C                | 1983
        d1        | D                | 1984
        e1        | E                | 1986
        f1        | F                | 1988
        """
    )
    out, report = deidentify(rows, [], k=3, quasi=QUASI)
    # Five-year bands leave 1985-1989 with two persons; ten-year bands hold all six.
    assert report.rule.birth_years == 10 and report.families_suppressed == {}
    assert set(out["year_of_birth"]) == {"1980-1989"}
    assert report.smallest_class == 6 and report.within


SPREAD_BIRTHS = exact(
    """
    pseudonym | family_pseudonym | year_of_birth | headlines
    a1        | A                | 1980          | crime;children_need_help
    b1        | B                | 1981          | crime;worklessness
    c1        | C                | 1983          | crime;children_need_help
    d1        | D                | 1984          | crime;worklessness
    e1        | E                | 1986          | crime;children_need_help
    f1        | F                | 1988          | crime;worklessness
    """
)


def test_a_column_no_enforced_check_looks_at_is_released_as_finely_as_at_the_first_rung():
    out, report = deidentify(SPREAD_BIRTHS, [], k=3, quasi=QUASI)
    # The rung of ten-year birth bands also counts the headlines, bands costs by £1,000
    # and caps family size; no intruder is enforced and no k-class holds those, so they
    # are released as at the first rung. The index period is a quasi-identifier: kept.
    assert report.rule.birth_years == 10 and report.rule.index == "year"
    assert (report.rule.headlines, report.rule.cost_band, report.rule.family_cap) == ("all", 100, 6)
    assert set(out["headlines"]) == {"crime;children_need_help", "crime;worklessness"}
    assert report.steps[-1].startswith("as finely as at the first rung")
    assert report.within


def test_a_column_an_enforced_intruder_knows_stays_as_coarse_as_its_rung():
    # The council knows the headlines: released as the rung has them, never finer.
    _, report = deidentify(SPREAD_BIRTHS, [council()], k=3, quasi=QUASI)
    rung = next(rule for _, rule in LADDER if rule.birth_years == report.rule.birth_years)
    assert report.rule.headlines == rung.headlines != "all"


def test_a_person_with_quasi_identifiers_withheld_counts_among_all_who_share_the_rest():
    # One person born long before the others: no band on the ladder joins them, so
    # their year of birth and sex are withheld. What is still shown of them (index
    # period and area) is shared by all seven, so the release is k-anonymous.
    rows = exact(
        """
        pseudonym | family_pseudonym | year_of_birth
        a1        | A                | 1931
        b1        | B                | 2000
        c1        | C                | 2001
        d1        | D                | 2002
        e1        | E                | 2003
        f1        | F                | 2004
        g1        | G                | 2005
        """
    )
    out, report = deidentify(rows, [], k=3, quasi=QUASI)
    assert report.families_suppressed == {"years of birth and sex": 1}
    a = family(out, "A").row(0, named=True)
    assert (a["year_of_birth"], a["sex"]) == (None, None)
    assert a["index_period"] is not None and a["local_authority"] == "Sandwell"
    assert report.smallest_class >= 3 and report.within


# Two pairs of families alike, with one social care episode in the mother (A, E) or in
# the son (B, F), and the Cedars, with one in each: no other family has two.
EPISODES = exact(
    """
    pseudonym | family_pseudonym | year_of_birth | sex | outcome | outcome_start | outcome_end
    a1        | A                | 1980          | F   | CIN     | 2015-09       | 2015-12
    a2        | A                | 2005          | M   | -       | -             | -
    e1        | E                | 1980          | F   | CIN     | 2015-09       | 2015-12
    e2        | E                | 2005          | M   | -       | -             | -
    b1        | B                | 1980          | F   | -       | -             | -
    b2        | B                | 2005          | M   | CIN     | 2015-09       | 2015-12
    f1        | F                | 1980          | F   | -       | -             | -
    f2        | F                | 2005          | M   | CIN     | 2015-09       | 2015-12
    c1        | C                | 1980          | F   | CIN     | 2015-09       | 2015-12
    c2        | C                | 2005          | M   | CIN     | 2015-09       | 2015-12
    """
)


def test_a_family_singled_out_by_how_its_members_events_combine_loses_the_link_not_its_size():
    services = council(events=SERVICE_EVENTS, id="council-services")
    out, report = deidentify(EPISODES, [services], k=2, quasi=QUASI)
    cedars = family(out, "C")
    # Each of the Cedars alone looks like a member of another family; together they do
    # not. The link between them goes; each keeps the family's size for the evaluation.
    assert report.families_suppressed.get("link between the members") == 1
    assert cedars["family_pseudonym"].is_null().all()
    assert cedars["family_size"].to_list() == ["2", "2"]
    assert out.filter(pl.col("family_pseudonym").is_null()).height == 2
    assert [r.reidentified for r in report.risks] == [0] and report.within


def test_suppression_coarsens_an_outcomes_months_but_never_blanks_them():
    services = council(events=SERVICE_EVENTS, id="council-services")
    out, _ = deidentify(EPISODES, [services], k=2, quasi=QUASI)
    # The evaluation measures from the months since the index date: every outcome row
    # keeps them, the Cedars' in 24-month bands that still say "within two years after".
    outcomes = out.filter(pl.col("outcome").is_not_null())
    assert outcomes.height == EPISODES.filter(pl.col("outcome").is_not_null()).height
    assert outcomes["outcome_start_month"].is_not_null().all()
    assert family(outcomes, "C")["outcome_start_month"].to_list() == ["1..24", "1..24"]
    # ... and a row with no outcome has no months.
    assert out.filter(pl.col("outcome").is_null())["outcome_start_month"].is_null().all()


def test_a_family_of_a_size_no_other_family_has_loses_its_link_and_then_its_size():
    rows = exact(
        """
        pseudonym | family_pseudonym | year_of_birth | sex
        a1        | A                | 1980          | F
        a2        | A                | 2005          | M
        b1        | B                | 1980          | F
        b2        | B                | 2005          | M
        c1        | C                | 1980          | F
        c2        | C                | 2005          | M
        d1        | D                | 1980          | F
        d2        | D                | 2005          | M
        d3        | D                | 2007          | M
        """
    )
    out, report = deidentify(rows, [council()], k=2, quasi=QUASI)
    # Each member released alone still carries the family's size, which no other
    # family shares, so the size goes last; the three persons stay in the dataset.
    threes = family(out, "D")
    assert threes.height == 3
    assert threes["family_pseudonym"].is_null().all() and threes["family_size"].is_null().all()
    assert family(out, "A")["family_size"].to_list() == ["2", "2"]
    assert [r.reidentified for r in report.risks] == [0] and report.within


def test_an_intruder_the_policy_does_not_enforce_is_measured_but_drives_no_suppression():
    services = council(events=SERVICE_EVENTS, enforced=False, id="council-services")
    _, report = deidentify(EPISODES, [council(), services], k=2, quasi=QUASI)
    # The council alone finds no family at the first rung; the Trust's own records of
    # the Cedars' episodes find them, and that is reported, not acted on.
    assert report.steps == [LADDER[0][0]] and report.families_suppressed == {}
    measured = {r.intruder: r for r in report.risks}
    assert measured["council"].reidentified == 0
    assert measured["council-services"].found == {"C"} and not measured["council-services"].within
    assert report.within  # the release is within what the policy enforces
    shown = {r["intruder"]: r for r in report.as_dict()["intruders"]}
    assert shown["council-services"]["enforced"] is False
    assert shown["council-services"]["reidentified"] == 1


def test_a_family_the_council_knows_by_what_nothing_can_withhold_is_refused():
    # The only waiting family: its cohort is the evaluation's comparison and is never
    # withheld, so the council finds it however much else goes, and the release is
    # refused rather than sent.
    rows = exact(
        """
        pseudonym | family_pseudonym | cohort
        a1        | A                | attached
        b1        | B                | attached
        w1        | W                | eligible_waiting
        """
    )
    _, report = deidentify(rows, [council()], k=1, quasi=QUASI)
    assert [r.reidentified for r in report.risks] == [1]
    assert not report.within


def test_suppression_withholds_only_what_the_intruder_knows_in_the_order_given():
    assert components_for(council()) == [
        "keyworker cost", "headlines", "years of birth and sex", "index period",
        "link between the members", "family size",
    ]  # fmt: skip
    # The outsider knows a sentence and its month, not the family; where the month sits
    # depends on the index period, which it does not know but which narrows it.
    assert components_for(outsider()) == [
        "years of birth and sex", "index period", "outcome details",
        "outcome months to 24-month bands",
    ]  # fmt: skip
    assert list(COMPONENTS)[-1] == "family size"


def test_the_report_carries_counts_and_no_pseudonym():
    rows = FAR_COST
    _, report = deidentify(rows, [council(), outsider()], k=2, quasi=QUASI)
    text = json.dumps(report.as_dict())
    assert not [p for p in rows["pseudonym"].unique() if f'"{p}"' in text]
    assert report.as_dict()["families_suppressed"] == {"keyworker cost": 1}
