"""How identifiers are written before they are compared (table in, table out)."""

from __future__ import annotations

import polars as pl

from evalink.link import standardise
from evalink.link.standardise import CONTRACT_COLUMNS


def records(*rows: dict[str, str | None]) -> pl.DataFrame:
    filled = [
        {c: row.get(c) for c in CONTRACT_COLUMNS} | {"record_id": str(i)}
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(filled, schema={c: pl.String for c in CONTRACT_COLUMNS})


def column(rows: pl.DataFrame, name: str) -> list:
    return standardise(rows)[0][name].to_list()


def test_an_invalid_nino_prefix_is_treated_as_missing():
    rows = records(
        {"nino": "QQ123456C"}, {"nino": "TN123456A"}, {"nino": "GB123456A"}, {"nino": "DA123456A"}
    )
    assert column(rows, "nino") == [None, None, None, None]


def test_invalid_ninos_are_counted():
    rows = records({"nino": "QQ123456C"}, {"nino": "AB123456C"}, {"nino": None})
    assert standardise(rows)[1].invalid_nino == 1


def test_a_nino_is_compared_without_spaces_case_or_suffix():
    rows = records({"nino": "ab 12 34 56 c"}, {"nino": "AB123456"}, {"nino": "AB123456D"})
    assert column(rows, "nino") == ["AB123456", "AB123456", "AB123456"]


def test_mc_and_mac_surnames_are_one_surname():
    rows = records({"surname": "McDonald"}, {"surname": "Mac Donald"}, {"surname": "MACDONALD"})
    assert column(rows, "surname_std") == ["MACDONALD", "MACDONALD", "MACDONALD"]


def test_hyphenated_and_double_surnames_agree_and_keep_their_parts():
    rows = records({"surname": "Smith-Jones"}, {"surname": "smith jones"})
    assert column(rows, "surname_std") == ["SMITHJONES", "SMITHJONES"]
    assert column(rows, "surname_tokens") == [["SMITH", "JONES"], ["SMITH", "JONES"]]


def test_accents_apostrophes_and_case_do_not_matter():
    rows = records(
        {"forename": "Zoë", "surname": "O'Neill"}, {"forename": "ZOE", "surname": "oneill"}
    )
    assert column(rows, "forename_main") == ["ZOE", "ZOE"]
    assert column(rows, "surname_std") == ["ONEILL", "ONEILL"]


def test_a_nickname_shares_a_name_group_with_the_full_name():
    bill, william = column(
        records({"forename": "Bill"}, {"forename": "William"}), "forename_groups"
    )
    assert set(bill) & set(william)


def test_transliterations_of_one_name_share_a_group():
    a, b = column(records({"forename": "Mohamed"}, {"forename": "Muhammad"}), "forename_groups")
    assert set(a) & set(b)


def test_an_optional_first_given_name_gives_way_to_the_next():
    rows = records(
        {"forename": "Mohammed Zubair"}, {"forename": "Zubair"}, {"forename": "Mohammed"}
    )
    assert column(rows, "forename_main") == ["ZUBAIR", "ZUBAIR", "MOHAMMED"]


def test_singh_or_kaur_alone_is_a_weak_surname_and_beside_a_family_name_is_dropped():
    rows = records({"surname": "Kaur"}, {"surname": "Kaur Sandhu"}, {"surname": "Sandhu"})
    assert column(rows, "surname_std") == ["KAUR", "SANDHU", "SANDHU"]
    assert column(rows, "surname_is_religious") == [True, False, False]


def test_singh_or_kaur_alone_in_the_forename_field_is_a_record_written_surname_first():
    rows = records(
        {"forename": "Singh", "surname": "Balvinder"},
        {"forename": "KAUR", "surname": "Harpreet Sandhu"},
        # Both fields religious, or the surname field empty: nothing to swap back.
        {"forename": "Kaur", "surname": "Kaur"},
        {"forename": "Singh", "surname": None},
        {"forename": "Harpreet", "surname": "Singh"},
    )
    assert column(rows, "forename_main") == ["BALVINDER", "HARPREET", None, None, "HARPREET"]
    assert column(rows, "surname_std") == ["SINGH", "KAUR", "KAUR", None, "SINGH"]


def test_placeholder_dates_of_birth_are_treated_as_missing():
    rows = records({"dob": "1900-01-01"}, {"dob": "1850-06-01"}, {"dob": "1984-07-12"})
    assert column(rows, "dob") == [None, None, "1984-07-12"]


def test_unparseable_dates_are_counted_and_treated_as_missing():
    rows = records({"dob": "12/07/1984"}, {"dob": "1984-13-40"}, {"dob": "1984-07-12"})
    standard, counts = standardise(rows)
    assert standard["dob"].to_list() == [None, None, "1984-07-12"]
    assert counts.unparseable_dob == 2


def test_a_date_of_birth_carries_its_day_month_swap():
    rows = records({"dob": "1983-04-11"}, {"dob": "1983-04-30"})
    assert column(rows, "dob_swapped") == ["1983-11-04", None]


def test_first_of_january_is_flagged_as_a_likely_placeholder():
    assert column(records({"dob": "1970-01-01"}, {"dob": "1970-01-02"}), "dob_jan1") == [
        True,
        False,
    ]


def test_postcodes_are_compared_without_spaces_and_give_their_district():
    rows = records({"postcode": "b69 3dl"})
    standard = standardise(rows)[0]
    assert standard["postcode"].to_list() == ["B693DL"]
    assert standard["postcode_outward"].to_list() == ["B69"]


def test_address_abbreviations_are_written_out():
    rows = records({"address": "12 High St."}, {"address": "12 HIGH STREET"})
    assert column(rows, "address_std") == ["12 HIGH STREET", "12 HIGH STREET"]
