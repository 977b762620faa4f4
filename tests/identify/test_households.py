"""Persons into households and families, as a council analyst would check them."""

from __future__ import annotations

from datetime import date

import polars as pl

from evalink.identify.households import address_key, families, persons_from_records
from tests.tables import table

AS_OF = date(2015, 3, 31)


def placed(records_text: str) -> dict[str, tuple[str | None, str | None]]:
    records = table(records_text)
    persons, addresses = persons_from_records(records)
    out = families(persons, AS_OF, addresses)
    return {row["person_key"]: (row["household_key"], row["family_key"]) for row in out.to_dicts()}


def same(placement: dict, *people: str) -> bool:
    return len({placement[p][0] for p in people}) == 1


def test_spellings_of_one_address_give_one_key():
    keys = pl.select(
        address_key(
            pl.Series(["B69 3DL", "b693dl", "B69 3DL"]),
            pl.Series(["12 Hill Street, Oldbury", "12, HILL ST", "Flat 3, 12 Hill St"]),
        )
    ).to_series()
    assert keys.n_unique() == 1


def test_people_recorded_at_one_address_form_one_family_with_a_child():
    placement = placed(
        """
        person_key | dob        | surname | postcode | address
        mum        | 1985-01-01 | Khan    | B69 3DL  | 12 Hill Street
        kid        | 2010-05-05 | Khan    | B69 3DL  | 12 Hill St
        """
    )
    assert same(placement, "mum", "kid")
    assert placement["mum"][1] is not None


def test_adults_without_a_child_are_a_household_but_not_a_family():
    placement = placed(
        """
        person_key | dob        | surname | postcode | address
        a1         | 1960-01-01 | Jones   | B70 1AA  | 4 Park Road
        a2         | 1962-01-01 | Jones   | B70 1AA  | 4 Park Road
        """
    )
    assert same(placement, "a1", "a2")
    assert placement["a1"][1] is None


def test_a_parent_still_recorded_at_the_old_address_joins_the_family_by_surname():
    placement = placed(
        """
        person_key | dob        | surname  | postcode | address
        dad        | 1980-01-01 | Stanton  | B67 9ET  | 114 Williams Lane
        kid        | 2005-02-14 | Stanton  | B70 7XU  | 37 Palmer Close
        kid        | 2005-02-14 | Stanton  | B70 7XU  | 37 Palmer Close
        kid        | 2005-02-14 | Stanton  | B67 9ET  | 114 Williams Lane
        """
    )
    assert same(placement, "dad", "kid")


def test_the_family_now_living_at_an_old_address_is_not_joined_to_the_movers():
    placement = placed(
        """
        person_key | dob        | surname | postcode | address
        mover      | 2005-02-14 | Stanton | B70 7XU  | 37 Palmer Close
        mover      | 2005-02-14 | Stanton | B67 9ET  | 114 Williams Lane
        mover      | 2005-02-14 | Stanton | B67 9ET  | 114 Williams Lane
        tenant     | 1990-01-01 | Begum   | B70 7XU  | 37 Palmer Close
        tenantkid  | 2012-01-01 | Begum   | B70 7XU  | 37 Palmer Close
        """
    )
    assert same(placement, "tenant", "tenantkid")
    assert not same(placement, "mover", "tenant")


def test_someone_with_no_address_in_any_record_is_in_no_family():
    placement = placed(
        """
        person_key | dob        | surname | postcode | address
        kid        | 2010-05-05 | Khan    | -        | -
        """
    )
    assert placement["kid"] == (None, None)
