"""Persons into households and families, as a council analyst would check them."""

from __future__ import annotations

from datetime import date

import polars as pl

from evalink.identify.households import families, persons_from_records
from tests.tables import table

AS_OF = date(2015, 3, 31)


def placed(records_text: str) -> dict[str, tuple[str | None, str | None]]:
    records = table(records_text)
    persons, addresses = persons_from_records(records)
    out = families(persons, AS_OF, addresses)
    return {row["person_key"]: (row["household_key"], row["family_key"]) for row in out.to_dicts()}


def same(placement: dict, *people: str) -> bool:
    return len({placement[p][0] for p in people}) == 1


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


def test_a_household_a_service_lists_together_is_one_family_wherever_its_records_put_them():
    # The father's records still give the old address and the children's the new one;
    # the benefit claim listing all three is what tells the council they live together.
    records = table(
        """
        person_key | dob        | surname | postcode | address
        dad        | 1983-07-16 | Mason   | B70 7LL  | 16 Campbell Road
        twin1      | 2004-09-18 | Mason   | DY4 1YU  | 7 Hussain Dr
        twin2      | 2004-09-18 | Mason   | DY4 1YU  | 7 Hussain Dr
        """
    )
    persons, addresses = persons_from_records(records)
    apart = families(persons, AS_OF, addresses)
    claim = pl.DataFrame({"person_key": ["dad", "twin1"], "group": ["HB1", "HB1"]})
    together = families(persons, AS_OF, addresses, claim)

    def family(out: pl.DataFrame, who: str) -> str | None:
        return out.filter(pl.col("person_key") == who)["family_key"].item()

    assert family(apart, "dad") is None
    assert family(together, "dad") == family(together, "twin1") == family(together, "twin2")
