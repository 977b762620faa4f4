"""The issue's "must hold": for generated research tables and intruder knowledge, after
assemble's transformation the attack's measured risk is within the policy's bound.

The intruders here know no outcome event a council service recorded: a council that
knows some of the family's and its members' columns, and an outsider who knows a
person's year of birth, sex and area and one custody sentence. Whatever `deidentify`
reports, the attack run afresh on what it releases must agree; whenever it releases
(reports `within`), every attack is within bound; everything the council knows can be
withheld, so against it the release always ends within bound. Against the outsider it
may not (a lone sentence in its area and time is found whatever is withheld): then
nothing is released.

Suppression never withholds a family's cohort (the evaluation's comparison), area or
help received: a family alone on those is found by a council that knows them however
much else goes, and the release is refused (a spec test in test_deidentify). The tables
here give every family another sharing those, so the promise can be kept.
"""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from evalink.assemble.deidentify import deidentify
from evalink.assemble.intruder import FAMILY_COLUMNS, PERSON_COLUMNS, attack
from evalink.policy.spec import Intruder
from tests.assemble.test_intruder import EXACT_COLUMNS, outsider

QUASI = ["index_period", "year_of_birth", "sex", "local_authority"]  # the example policy's
SPAN = 24  # index months: January 2015 to December 2016


def month(number: int) -> str:
    """Months since January 2015 → 'YYYY-MM'."""
    return f"{2015 + number // 12}-{number % 12 + 1:02d}"


# Each outcome as the departments return it: (source, outcome, outcome_detail, has an end).
KINDS = {
    "CIN": ("dfe", "CIN", None, True),
    "custody": ("moj", "conviction", "custody", False),
    "JSA": ("dwp", "JSA", None, True),
}

outcome = st.tuples(st.sampled_from(sorted(KINDS)), st.integers(-12, 30), st.integers(0, 9))
member = st.tuples(st.integers(1950, 2015), st.sampled_from("FM"), st.lists(outcome, max_size=2))
# Families come in groups sharing cohort, area and help received, two or three to a
# group, so no family is alone on what is never withheld.
group = st.tuples(
    st.sampled_from(["attached", "eligible_waiting"]),
    st.sampled_from(["Sandwell", "Dudley"]),
    st.sampled_from(["keyworker", "group"]),
    st.lists(
        st.tuples(
            st.integers(0, SPAN - 1),  # index month
            st.sampled_from(["crime;worklessness", "crime;children_need_help", "worklessness"]),
            st.integers(4, 60),  # keyworker cost, in £100s
            st.lists(member, min_size=1, max_size=6),
        ),
        min_size=2,
        max_size=3,
    ),
)


def exact_table(groups: list) -> pl.DataFrame:
    """The exact research table: one row per outcome, one empty row for a person with
    none; a waiting family's index month is its drawn one."""
    families = [
        (cohort, index, area, headlines, help_, cost, members)
        for cohort, area, help_, alike in groups
        for index, headlines, cost, members in alike
    ]
    rows = []
    for f, (cohort, index, area, headlines, help_, cost, members) in enumerate(families):
        attached = cohort == "attached"
        base = {
            "family_pseudonym": f"F{f}",
            "cohort": cohort,
            "index_month": month(index),
            "index_source": "attachment" if attached else "drawn",
            "local_authority": area,
            "family_size": str(len(members)),
            "headlines": headlines,
            "help_received": help_,
            "keyworker_cost": str(cost * 100 + 37) if attached else None,
        }
        for p, (yob, sex, outcomes) in enumerate(members):
            person = {**base, "pseudonym": f"F{f}P{p}", "year_of_birth": str(yob), "sex": sex}
            for found in outcomes or [None]:
                row = dict.fromkeys(EXACT_COLUMNS) | person
                if found is not None:
                    kind, start, length = found
                    source, name, detail, ends = KINDS[kind]
                    row |= {
                        "source": source,
                        "outcome": name,
                        "outcome_detail": detail,
                        "outcome_start": month(index + start),
                        "outcome_end": month(index + start + length) if ends else None,
                        "match_probability": "0.95",
                    }
                rows.append(row)
    return pl.DataFrame(rows, schema=dict.fromkeys(EXACT_COLUMNS, pl.Utf8))


def council(knows: list[str], bound: float) -> Intruder:
    return Intruder(
        id="council",
        description="knows some of what it sent of every family",
        dataset="research_dataset",
        unit="family",
        knows=knows,
        max_reidentified=bound,
    )


def outcome_months(table: pl.DataFrame, start: str) -> dict[str, int]:
    """person → outcome rows with a start month."""
    rows = table.filter(pl.col("outcome").is_not_null() & pl.col(start).is_not_null())
    return dict(rows.group_by("pseudonym").len().iter_rows())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    groups=st.lists(group, min_size=1, max_size=10),  # 2 to 30 families
    knows=st.lists(st.sampled_from([*FAMILY_COLUMNS, *PERSON_COLUMNS]), unique=True),
    bound=st.sampled_from([0.01, 0.1, 0.25]),
    k=st.sampled_from([1, 2, 3, 5, 10]),  # the example policy asks 10 of research
)
def test_after_deidentify_the_attack_is_within_the_policys_bound(groups, knows, bound, k):
    exact = exact_table(groups)
    intruders = [council(knows, bound), outsider()]
    table, report = deidentify(exact, intruders, k, QUASI)

    # What deidentify reports is what the attack finds on what it releases.
    for intruder, reported in zip(intruders, report.risks, strict=True):
        fresh = attack(exact, table, report.rule, intruder)
        assert fresh.reidentified == reported.reidentified, intruder.id
        if report.within:
            assert fresh.share <= intruder.max_reidentified, intruder.id

    # Everything the council knows that could single a family out can be withheld, so
    # its attack always ends within bound. The outsider's may not: a custody sentence
    # with no other of its kind near it in time in its area (the area is never
    # withheld) is found however much is withheld around it — then the release is
    # refused (`within` is False), never sent.
    council_risk, outsider_risk = report.risks
    assert council_risk.within, council_risk.line()
    persons = exact.select("pseudonym", "local_authority").unique()
    if persons.group_by("local_authority").len()["len"].min() >= k and outsider_risk.within:
        assert report.smallest_class >= k and report.within
    event(f"withheld from some family: {bool(report.families_suppressed)}")
    event(f"released: {report.within}")

    # Suppression never takes an outcome's months since the index date, and banding
    # never gives a month to a row without one.
    assert outcome_months(table, "outcome_start_month") == outcome_months(exact, "outcome_start")
    assert table.filter(pl.col("outcome").is_null())["outcome_start_month"].is_null().all()
    assert table["pseudonym"].sort().to_list() == exact["pseudonym"].sort().to_list()
