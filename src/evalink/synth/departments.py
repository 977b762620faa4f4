"""The departments' data: everyone in the population, with each department's own noise.

Each department has a person file (`persons.parquet`, the linkage contract's columns,
one row per person, `record_id` being the department's own person reference) and event
tables keyed by that `record_id`, so that once a cohort member is matched to a
department's person the department can return that person's outcome records.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from evalink.synth.calendar import SNAPSHOT_DATE
from evalink.synth.noise import NoiseProfile, noisy_identifiers
from evalink.synth.outcomes import BENEFITS, DISPOSALS, SENTENCES, terms
from evalink.synth.records import Records, World, dates, prefixed, record_ids

PROFILES: dict[str, NoiseProfile] = {
    # DWP's Customer Information System: NINO-keyed, capitals, old surnames kept.
    "dwp": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.01, transliteration=0.10, called_name=0.2,
        alt_surname=0.25, name_swap=0.005, moved_address=0.25, dob_swap=0.003, dob_off_by_one=0.003,
        dob_placeholder=0.001, dob_missing=0.0, sex_missing=0.0, nino_recorded=0.98, nino_typo=0.002,
        nino_format=0.05, upper_case=1.0, strip_punctuation=0.3, strip_diacritics=1.0,
    ),
    # Police National Computer via MoJ: aliases, swapped names, uncertain dates of birth.
    "moj": NoiseProfile(
        forename_typo=0.03, surname_typo=0.03, nickname=0.20, transliteration=0.25, called_name=0.5,
        alt_surname=0.25, name_swap=0.03, moved_address=0.45, dob_swap=0.03, dob_off_by_one=0.04,
        dob_placeholder=0.01, dob_missing=0.01, nino_recorded=0.40, nino_typo=0.02, upper_case=0.8,
    ),
    # National Pupil Database: no NINO, school-census names and addresses.
    "dfe": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.03, transliteration=0.10, called_name=0.6,
        alt_surname=0.10, name_swap=0.005, moved_address=0.35, dob_swap=0.003, dob_off_by_one=0.003,
        dob_placeholder=0.0, dob_missing=0.0, sex_missing=0.0, nino_recorded=0.0,
    ),
}  # fmt: skip
PREFIX = {"dwp": "CIS", "moj": "PNC", "dfe": "UPN"}


def person_file(rng: np.random.Generator, world: World, department: str) -> tuple[Records, DeptIds]:
    """(persons table, the department's record_id and its number per person index)."""
    n = world.people.n
    ids, numbers = record_ids(rng, PREFIX[department], n, width=9)
    identifiers = noisy_identifiers(
        rng, np.arange(n), world.people, world.ids, world.addresses, PROFILES[department], SNAPSHOT_DATE
    )
    table = pl.concat([ids.to_frame(), identifiers], how="horizontal")
    order = np.argsort(numbers, kind="stable")
    return Records(table[order], np.arange(n)[order]), DeptIds(ids, numbers)


class DeptIds(NamedTuple):
    ids: pl.Series
    numbers: np.ndarray


def _keyed(dept: DeptIds, person: np.ndarray, fields: dict) -> Records:
    """An event table keyed by the department's person record_id, sorted by it (stable,
    so each person's events stay in date order)."""
    table = pl.DataFrame({"record_id": dept.ids.gather(pl.Series(person.astype(np.int64))), **fields})
    order = np.argsort(dept.numbers[person], kind="stable")
    return Records(table[order], person[order])


def dwp_tables(ids: DeptIds, benefits: dict, employment: dict) -> dict[str, Records]:
    return {
        "benefit_spells": _keyed(ids, benefits["person"], {
            "benefit": pl.Series(np.array(BENEFITS)[benefits["benefit"]]),
            "start_date": dates(benefits["day"]),
            "end_date": dates(benefits["end"], open_ended=True),
        }),
        "employment_spells": _keyed(ids, employment["person"], {
            "start_date": dates(employment["day"]),
            "end_date": dates(employment["end"], open_ended=True),
        }),
    }  # fmt: skip


def moj_tables(rng: np.random.Generator, ids: DeptIds, offences: dict) -> dict[str, Records]:
    """Cautions and convictions only: offences with no further action never reach MoJ."""
    keep = offences["disposal"] > 0
    o = {k: v[keep] for k, v in offences.items()}
    sentence = pl.Series(np.array(("", *SENTENCES))[o["sentence"] + 1]).set(pl.Series(o["sentence"] < 0), None)
    return {
        "offences": _keyed(ids, o["person"], {
            "offence_ref": prefixed("OFF", rng.permutation(len(o["person"])), 9),
            "offence_date": dates(o["day"]),
            "juvenile": pl.Series(o["juvenile"]),
            "disposal": pl.Series(np.array(DISPOSALS)[o["disposal"]]),
            "disposal_date": dates(o["disposal_day"]),
            "sentence": sentence,
            "custody_days": pl.Series(o["custody_days"].astype(np.int32)),
        }),
    }  # fmt: skip


def dfe_tables(ids: DeptIds, attendance: dict, exclusions: dict, ks: dict, episodes: dict) -> dict[str, Records]:
    t = terms()
    cin = episodes["type"] < 2
    lac = ~cin
    return {
        "attendance": _keyed(ids, attendance["person"], {
            "academic_year": pl.Series([f"{x[0]}/{str(x[0] + 1)[2:]}" for x in t])[attendance["term"]],
            "term": pl.Series([x[1] for x in t])[attendance["term"]],
            "sessions_possible": pl.Series(attendance["possible"].astype(np.int32)),
            "sessions_missed": pl.Series(attendance["missed"].astype(np.int32)),
        }),
        "exclusions": _keyed(ids, exclusions["person"], {
            "exclusion_date": dates(exclusions["day"]),
            "exclusion_type": pl.Series(np.where(exclusions["permanent"], "permanent", "fixed_period")),
            "days": pl.Series(exclusions["length"].astype(np.int32)),
        }),
        "ks_results": _keyed(ids, ks["person"], {
            "key_stage": pl.Series(np.array(["KS2", "KS4"])[ks["stage"]]),
            "academic_year": pl.Series([f"{y}/{str(y + 1)[2:]}" for y in range(2000, 2030)])[ks["year"].astype(np.int64) - 2000],
            "score": pl.Series(ks["score"]),
            "measure": pl.Series(np.array(["scaled_score", "attainment8"])[ks["stage"]]),
        }),
        "children_in_need": _keyed(ids, episodes["person"][cin], {
            "episode_type": pl.Series(np.array(["CIN", "CPP"])[episodes["type"][cin]]),
            "start_date": dates(episodes["day"][cin]),
            "end_date": dates(episodes["end"][cin], open_ended=True),
        }),
        "looked_after": _keyed(ids, episodes["person"][lac], {
            "start_date": dates(episodes["day"][lac]),
            "end_date": dates(episodes["end"][lac], open_ended=True),
        }),
    }  # fmt: skip
