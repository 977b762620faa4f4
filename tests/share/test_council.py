"""The council's identifiers row for each person: the fields the policy's identifiers
dataset names, each the value the person's records give most often."""

from __future__ import annotations

import pytest

from evalink.errors import InputError
from evalink.share.council import person_identifiers
from tests.policy.identifier_variants import policy_adding
from tests.tables import table

RECORDS = table(
    """
    person_key | forename | surname | dob        | sex | postcode | address         | nino      | middle_name
    P1         | Ann      | Smith   | 1980-02-01 | F   | B69 3DL  | 12 Hill Street  | -         | Jo
    P1         | Anne     | Smith   | 1980-02-01 | F   | B69 3DL  | 12, Hill St     | QQ123456C | Jo
    P1         | Ann      | Smyth   | 1980-02-01 | F   | B70 2RJ  | 4 Owen Way      | -         | -
    """
)


def test_each_field_is_the_value_a_persons_records_give_most_often(example_policy):
    fields = example_policy.identifying_fields("identifiers")
    row = person_identifiers(RECORDS, fields).to_dicts()[0]
    assert (row["forename"], row["surname"], row["nino"]) == ("Ann", "Smith", "QQ123456C")


def test_address_and_postcode_are_taken_from_one_place(example_policy):
    fields = example_policy.identifying_fields("identifiers")
    row = person_identifiers(RECORDS, fields).to_dicts()[0]
    assert row["postcode"] == "B69 3DL" and row["address"] in {"12 Hill Street", "12, Hill St"}


def test_an_identifier_the_policy_adds_is_shared():
    fields = policy_adding("middle_name").identifying_fields("identifiers")
    assert person_identifiers(RECORDS, fields)["middle_name"].to_list() == ["Jo"]


def test_a_field_the_policy_does_not_name_is_not_shared(example_policy):
    fields = example_policy.identifying_fields("identifiers")
    assert "middle_name" not in person_identifiers(RECORDS, fields).columns


def test_records_from_an_identify_run_without_a_field_the_policy_names_are_refused():
    fields = policy_adding("middle_name").identifying_fields("identifiers")
    with pytest.raises(InputError, match=r"no field 'middle_name'.*run `evalink identify` again"):
        person_identifiers(RECORDS.drop("middle_name"), fields)
