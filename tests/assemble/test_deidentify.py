"""De-identification before research: pseudonyms, k-anonymity, the identifier scan."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from evalink.assemble.anonymity import k_anonymise, small_classes
from evalink.assemble.pseudonyms import new_project_key, pseudonym
from evalink.assemble.scan import identifier_values, scan
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


PEOPLE = table(
    """
    pseudonym | year_of_birth | sex | local_authority | area_code | attachment_month
    a         | 2005          | F   | Sandwell        | S01       | 2015-05
    b         | 2006          | F   | Sandwell        | S02       | 2015-06
    c         | 2007          | F   | Sandwell        | S03       | 2015-07
    d         | 2008          | M   | Sandwell        | S01       | 2015-05
    e         | 2009          | M   | Sandwell        | S02       | 2015-06
    f         | 2006          | M   | Sandwell        | S03       | 2015-07
    g         | 1960          | M   | Sandwell        | S01       | 2016-11
    """
)
QUASI = ["year_of_birth", "sex", "local_authority", "area_code", "attachment_month"]


def test_quasi_identifiers_are_generalised_until_classes_reach_k():
    out, report = k_anonymise(PEOPLE, QUASI, k=3)
    assert not small_classes(out, QUASI, 3).any()
    assert report.steps_applied[0] == "area_code → local authority only"
    assert out["area_code"].is_null().all()


def test_a_person_still_unique_after_generalising_keeps_their_records_without_quasi_identifiers():
    out, report = k_anonymise(PEOPLE, QUASI, k=3)
    g = out.filter(pl.col("pseudonym") == "g").to_dicts()
    assert g == [{"pseudonym": "g", **dict.fromkeys(QUASI)}]
    assert report.persons_suppressed == 1
    assert report.smallest_class >= 3


def test_a_person_with_several_outcome_rows_is_counted_once():
    rows = pl.concat([PEOPLE, PEOPLE.filter(pl.col("pseudonym") == "a")])
    out, _ = k_anonymise(rows, QUASI, k=3)
    assert out.filter(pl.col("pseudonym") == "a").height == 2


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1950, 2015), st.sampled_from("FM"), st.sampled_from(["A1", "A2", "A3"])
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(2, 10),
)
def test_k_anonymity_always_holds_on_what_is_released(rows, k):
    frame = pl.DataFrame(
        {
            "pseudonym": [str(i) for i in range(len(rows))],
            "year_of_birth": [str(r[0]) for r in rows],
            "sex": [r[1] for r in rows],
            "area_code": [r[2] for r in rows],
        }
    )
    quasi = ["year_of_birth", "sex", "area_code"]
    out, _ = k_anonymise(frame, quasi, k)
    assert not small_classes(out, quasi, k).any()
    assert out.height == frame.height


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
