"""The truth: who every record belongs to, which families were eligible and attached.

Never written into the data files; only into DIR/truth/.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from evalink.synth.calendar import iso
from evalink.synth.households import ROLE_NAMES
from evalink.synth.names import NAMING_GROUPS
from evalink.synth.problems import HEADLINES, Cohort
from evalink.synth.records import Records, World, dates, prefixed

COHORTS = ("attached", "eligible_waiting", "not_eligible")


def person_ids(n: int) -> pl.Series:
    return prefixed("P", np.arange(n), 9)


def family_ids(people_household: np.ndarray, n_council: int) -> pl.Series:
    """Council families are 'F…'; other households 'H…'."""
    hh = people_household
    width = 8
    council = prefixed("F", hh, width)
    other = prefixed("H", hh, width)
    return pl.select(pl.when(pl.lit(pl.Series(hh < n_council))).then(pl.lit(council)).otherwise(pl.lit(other))).to_series()


def persons_table(world: World, records: dict[str, Records]) -> Iterator[pl.DataFrame]:
    """One row per record in every source and department: whose record it is.

    Yielded source by source, so the writer never holds the whole table (tens of
    millions of rows at national scale) at once.
    """
    people = world.people
    pid = person_ids(people.n)
    fid = family_ids(people.household, people.n_council_households)
    group = pl.Series(np.array(NAMING_GROUPS)[world.ids.group])
    role = pl.Series(np.array(ROLE_NAMES)[people.role])
    sex = pl.Series(np.where(people.male, "M", "F"))
    dob = pl.Series(iso(people.dob))
    for source in sorted(records):
        rec = records[source]
        p = pl.Series(rec.person.astype(np.int64))
        yield (
            pl.DataFrame(
                {
                    "person_id": pid.gather(p),
                    "family_id": fid.gather(p),
                    "naming_group": group.gather(p),
                    "source": pl.repeat(source, len(rec.person), dtype=pl.String, eager=True),
                    "record_id": rec.table["record_id"],
                    "role": role.gather(p),
                    "sex": sex.gather(p),
                    "dob": dob.gather(p),
                    "in_council_family": pl.Series(people.household[rec.person] < people.n_council_households),
                }
            )
        )


def identities_table(world: World, part_rows: int = 1 << 21) -> Iterator[pl.DataFrame]:
    """Each person's true identifiers, for measuring noise and debugging linkage."""
    from evalink.synth.noise import _names

    people, ids, addr = world.people, world.ids, world.addresses
    for lo in range(0, people.n, part_rows):
        sl = slice(lo, min(lo + part_rows, people.n))
        hh = pl.Series(people.household[sl])
        surname = _names(ids.surname[sl])
        second = _names(ids.surname2[sl])
        nino = ids.nino[sl]
        yield pl.DataFrame(
            {
                "person_id": prefixed("P", np.arange(sl.start, sl.stop), 9),
                "family_id": family_ids(people.household[sl], people.n_council_households),
                "naming_group": pl.Series(np.array(NAMING_GROUPS)[ids.group[sl]]),
                "role": pl.Series(np.array(ROLE_NAMES)[people.role[sl]]),
                "forename": _names(ids.forename[sl]),
                "middle_name": _names(ids.middle[sl]),
                "called_name": _names(ids.alt_forename[sl]),
                "surname": pl.select(
                    pl.when(pl.lit(second).is_null()).then(pl.lit(surname)).otherwise(pl.lit(surname) + "-" + pl.lit(second))
                ).to_series(),
                "other_surname": _names(ids.alt_surname[sl]),
                "dob": pl.Series(iso(people.dob[sl])),
                "sex": pl.Series(np.where(people.male[sl], "M", "F")),
                "nino": pl.Series(nino.astype(str)).set(pl.Series(nino == ""), None),
                "address": addr.series("address").gather(hh),
                "postcode": addr.series("postcode").gather(hh),
                "twin": pl.Series(people.twin[sl]),
            }
        )


def families_table(world: World, cohort: Cohort) -> pl.DataFrame:
    people = world.people
    n = people.n_council_households
    fam = np.arange(n)
    size = np.bincount(people.household[people.household < n], minlength=n)
    hh_group = np.zeros(n, dtype=np.int8)
    first = np.flatnonzero(np.r_[True, people.household[1:] != people.household[:-1]])
    council_first = first[people.household[first] < n]
    hh_group[people.household[council_first]] = world.ids.group[council_first]
    flags = cohort.headlines
    flag_frame = pl.DataFrame({h: pl.Series(flags[:, i]) for i, h in enumerate(HEADLINES)})
    headline_lists = flag_frame.select(
        pl.concat_list([pl.when(pl.col(h)).then(pl.lit(h)) for h in HEADLINES]).list.drop_nulls().alias("h")
    )["h"]
    which = np.where(cohort.attached, 0, np.where(cohort.eligible, 1, 2))
    return pl.DataFrame(
        {
            "family_id": prefixed("F", fam, 8),
            "eligible": pl.Series(cohort.eligible),
            "headlines": headline_lists,
            "n_headlines": pl.Series(flags.sum(axis=1).astype(np.int8)),
            "cohort": pl.Series(np.array(COHORTS)[which]),
            "attachment_date": dates(cohort.index_date).set(pl.Series(~cohort.attached), None),
            # For eligible-waiting families: the date they were identified, drawn like an
            # attachment date, from which their outcomes can be compared.
            "index_date": dates(cohort.index_date),
            "keyworker_cost_gbp": pl.Series(cohort.keyworker_cost),
            "n_members": pl.Series(size.astype(np.int16)),
            "naming_group": pl.Series(np.array(NAMING_GROUPS)[hh_group]),
            "address": pl.Series(world.addresses.address[:n], dtype=pl.String),
            "postcode": pl.Series(world.addresses.postcode[:n], dtype=pl.String),
            "moved": pl.Series(world.addresses.moved[:n]),
            "previous_address": pl.Series(world.addresses.previous_address[:n], dtype=pl.String),
            "previous_postcode": pl.Series(world.addresses.previous_postcode[:n], dtype=pl.String),
        }
    )
