"""The council's local sources: one extract per service, as a council would send them.

Each extract is one row per event (incident, term, episode, claim, flag) and each row
carries the identifiers that service holds for the person (its own copy, with its own
noise; a few people are registered twice). `record_id` is the service's row reference.
There is no shared person id across services: resolving people and households is the
council's job (the identify stage), and the truth says who is who.

Only members of the council's families appear; the departments hold everyone.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from evalink.synth.calendar import STUDY_END, STUDY_START, age_years
from evalink.synth.households import FATHER, MOTHER
from evalink.synth.noise import NoiseProfile
from evalink.synth.outcomes import BENEFITS, terms
from evalink.synth.records import Records, World, dates, finish, per_person_copies, prefixed

# Share of a service's people registered twice (two copies of their identifiers).
DUPLICATE_REGISTRATION = 0.03
# Share of a council family's out-of-work benefit claims the council knows about
# (through housing benefit and council tax reduction).
WORKLESS_KNOWN_LOCALLY = 0.75
# A claim's dependants: children under 16 (and, in the benefit rules, some up to 19 still
# in education; the synthetic claims treat everyone 16 or over as a non-dependant).
DEPENDANT_AGE = 16

PROFILES: dict[str, NoiseProfile] = {
    "police": NoiseProfile(
        forename_typo=0.03, surname_typo=0.03, nickname=0.15, transliteration=0.25, called_name=0.5,
        alt_surname=0.20, name_swap=0.02, moved_address=0.40, dob_swap=0.02, dob_off_by_one=0.02,
        dob_placeholder=0.01, dob_missing=0.03, nino_recorded=0.30, upper_case=0.7,
    ),
    "school": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.08, transliteration=0.10, called_name=0.6,
        alt_surname=0.05, name_swap=0.005, moved_address=0.20, dob_swap=0.003, dob_off_by_one=0.003,
        dob_placeholder=0.0, dob_missing=0.0, nino_recorded=0.0, sex_missing=0.0,
    ),
    "social_care": NoiseProfile(nino_recorded=0.40, moved_address=0.30),
    "worklessness": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.02, alt_surname=0.10, moved_address=0.20,
        dob_missing=0.0, nino_recorded=0.95, nino_typo=0.01, upper_case=0.5,
    ),
    "domestic_abuse": NoiseProfile(
        forename_typo=0.04, surname_typo=0.04, nickname=0.15, transliteration=0.25, alt_surname=0.25,
        name_swap=0.03, moved_address=0.40, dob_off_by_one=0.02, dob_missing=0.10, nino_recorded=0.10,
    ),
    "health": NoiseProfile(nino_recorded=0.20, dob_missing=0.0, moved_address=0.30),
    # The housing register: a tenancy lists every member of the household, kept up to
    # date at each rent review, so old addresses are rare.
    "housing": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.05, alt_surname=0.05, moved_address=0.05,
        dob_swap=0.003, dob_off_by_one=0.003, dob_placeholder=0.0, dob_missing=0.01, nino_recorded=0.5,
    ),
    "programme": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.05, alt_surname=0.05, moved_address=0.10,
        dob_swap=0.003, dob_off_by_one=0.003, dob_placeholder=0.0, dob_missing=0.0, nino_recorded=0.6,
    ),
}  # fmt: skip
PREFIX = {
    "police": "POL", "school_attendance": "ATT", "school_exclusions": "EXC", "social_care": "CSC",
    "worklessness": "HBW", "domestic_abuse": "DAB", "health": "HLT", "programme": "TFP",
    "housing": "HSG",
}  # fmt: skip
HEALTH_FLAGS = ("mental_health", "substance_misuse", "vulnerable_new_mother")
SOCIAL_CARE_TYPES = ("CIN", "CPP", "LAC")


def _rows(rng, world: World, service: str, profile: str, person: np.ndarray, day: np.ndarray, fields: pl.DataFrame) -> Records:
    identifiers = per_person_copies(rng, world, person, day, PROFILES[profile], DUPLICATE_REGISTRATION)
    return finish(rng, PREFIX[service], identifiers, fields, person)


def _sel(events: dict[str, np.ndarray], council: np.ndarray) -> dict[str, np.ndarray]:
    keep = council[events["person"]]
    return {k: v[keep] for k, v in events.items()}


def police(rng, world: World, council: np.ndarray, asb: dict, offences: dict) -> Records:
    a, o = _sel(asb, council), _sel(offences, council)
    person = np.concatenate([a["person"], o["person"]])
    day = np.concatenate([a["day"], o["day"]])
    kind = np.concatenate([np.zeros(len(a["person"]), np.int8), np.ones(len(o["person"]), np.int8)])
    order = np.lexsort((day, person))
    fields = pl.DataFrame({
        "incident_date": dates(day[order]),
        "incident_type": pl.Series(np.array(["asb", "crime"])[kind[order]]),
    })  # fmt: skip
    return _rows(rng, world, "police", "police", person[order], day[order], fields)


def school_attendance(rng, world: World, council: np.ndarray, attendance: dict) -> Records:
    a = _sel(attendance, council)
    t = terms()
    term_start = np.array([x[2] for x in t])[a["term"]]
    fields = pl.DataFrame({
        "academic_year": pl.Series([f"{x[0]}/{str(x[0] + 1)[2:]}" for x in t])[a["term"]],
        "term": pl.Series([x[1] for x in t])[a["term"]],
        "sessions_possible": pl.Series(a["possible"].astype(np.int32)),
        "sessions_missed": pl.Series(a["missed"].astype(np.int32)),
    })  # fmt: skip
    return _rows(rng, world, "school_attendance", "school", a["person"], term_start, fields)


def school_exclusions(rng, world: World, council: np.ndarray, exclusions: dict) -> Records:
    e = _sel(exclusions, council)
    fields = pl.DataFrame({
        "exclusion_date": dates(e["day"]),
        "exclusion_type": pl.Series(np.where(e["permanent"], "permanent", "fixed_period")),
        "days": pl.Series(e["length"].astype(np.int32)),
    })  # fmt: skip
    return _rows(rng, world, "school_exclusions", "school", e["person"], e["day"], fields)


def social_care(rng, world: World, council: np.ndarray, episodes: dict) -> Records:
    e = _sel(episodes, council)
    fields = pl.DataFrame({
        "episode_type": pl.Series(np.array(SOCIAL_CARE_TYPES)[e["type"]]),
        "start_date": dates(e["day"]),
        "end_date": dates(e["end"], open_ended=True),
    })  # fmt: skip
    return _rows(rng, world, "social_care", "social_care", e["person"], e["day"], fields)


def worklessness(rng, world: World, council: np.ndarray, benefits: dict) -> Records:
    """Housing benefit and council tax reduction claims: the council learns of an
    out-of-work benefit through them. A claim lists the whole household as it stood when
    the claim began (the claimant, a partner, dependent children and other adults living
    there), because the household's make-up sets the award; every member gets a row under
    the claim's reference. This is how a council knows who lives with whom even when its
    other services hold different addresses for them."""
    b = _sel(benefits, council)
    known = b["known_locally"]
    b = {k: v[known] for k, v in b.items()}
    people = world.people
    claimant = b["person"]
    n_claims = len(claimant)
    refs = prefixed("HB", rng.permutation(n_claims) + 1, 7)
    # Households are contiguous runs of people, so a claimant's household is a slice.
    first = np.searchsorted(people.household, people.household[claimant], side="left")
    size = np.searchsorted(people.household, people.household[claimant], side="right") - first
    claim = np.repeat(np.arange(n_claims), size)
    member = first[claim] + np.arange(claim.size) - np.repeat(np.cumsum(size) - size, size)
    born = people.dob[member] <= b["day"][claim]
    claim, member = claim[born], member[born]
    parents = (MOTHER, FATHER)
    age = age_years(people.dob[member], b["day"][claim])
    role = np.select(
        [
            member == claimant[claim],
            np.isin(people.role[member], parents) & np.isin(people.role[claimant[claim]], parents),
            age < DEPENDANT_AGE,
        ],
        ["claimant", "partner", "dependant"],
        "non_dependant",
    )
    order = np.lexsort((member, b["day"][claim]))
    claim, member, role = claim[order], member[order], role[order]
    fields = pl.DataFrame({
        "claim_ref": refs.gather(pl.Series(claim)),
        "role": pl.Series(role),
        "benefit": pl.Series(np.array(BENEFITS)[b["benefit"][claim]]),
        "out_of_work": pl.Series(np.ones(len(claim), bool)),
        "start_date": dates(b["day"][claim]),
        "end_date": dates(b["end"][claim], open_ended=True),
    })  # fmt: skip
    return _rows(rng, world, "worklessness", "worklessness", member, b["day"][claim], fields)


def domestic_abuse(rng, world: World, council: np.ndarray, incidents: dict) -> Records:
    d = _sel(incidents, council)
    male = world.people.male[d["person"]]
    victim = rng.random(len(male)) < np.where(male, 0.3, 0.8)
    fields = pl.DataFrame({
        "incident_date": dates(d["day"]),
        "role": pl.Series(np.where(victim, "victim", "perpetrator")),
    })  # fmt: skip
    return _rows(rng, world, "domestic_abuse", "domestic_abuse", d["person"], d["day"], fields)


def health(rng, world: World, council: np.ndarray, flags: dict) -> Records:
    h = _sel(flags, council)
    fields = pl.DataFrame({
        "flag": pl.Series(np.array(HEALTH_FLAGS)[h["flag"]]),
        "recorded_date": dates(h["day"]),
    })  # fmt: skip
    return _rows(rng, world, "health", "health", h["person"], h["day"], fields)


# Share of the council's families on its housing register (social tenants), and of
# those, the share with a homelessness application during the study window.
SOCIAL_TENANT = 0.55
HOMELESSNESS_APPLICATION = 0.10


def housing(rng, world: World, family_of: np.ndarray, n_families: int) -> Records:
    """The housing register: one tenancy row per member of each council family that
    rents from the council, and a homelessness-application row per member where the
    family applied. Children are listed too: a tenancy records the whole household."""
    tenant = rng.random(n_families) < SOCIAL_TENANT
    applied = tenant & (rng.random(n_families) < HOMELESSNESS_APPLICATION)
    tenancy_start = STUDY_START - rng.integers(0, 15 * 365, size=n_families)
    applied_on = rng.integers(STUDY_START, STUDY_END, size=n_families)
    members = np.flatnonzero((family_of >= 0) & tenant[np.maximum(family_of, 0)])
    homeless = members[applied[family_of[members]]]
    person = np.concatenate([members, homeless])
    fam = family_of[person]
    day = np.concatenate([tenancy_start[family_of[members]], applied_on[family_of[homeless]]])
    kind = np.concatenate([np.zeros(len(members), np.int8), np.ones(len(homeless), np.int8)])
    order = np.lexsort((kind, day, person))
    person, day, kind, fam = person[order], day[order], kind[order], fam[order]
    fields = pl.DataFrame({
        "event_type": pl.Series(np.array(["tenancy", "homelessness_application"])[kind]),
        "event_date": dates(day),
    })  # fmt: skip
    return _rows(rng, world, "housing", "housing", person, day, fields)


def programme(rng, world: World, family_of: np.ndarray, attached: np.ndarray, index_date, closure, cost) -> Records:
    """One row per member of each attached family, as the programme's case system lists them."""
    person = np.flatnonzero((family_of >= 0) & attached[np.maximum(family_of, 0)])
    fam = family_of[person]
    # The programme's own family reference, numbered in a random order.
    uniq, inverse = np.unique(fam, return_inverse=True)
    refs = prefixed("TF", rng.permutation(len(uniq)) + 1, 6)
    fields = pl.DataFrame({
        "programme_family_ref": refs[inverse],
        "attachment_date": dates(index_date[fam]),
        "closure_date": dates(closure[fam]),
        "family_keyworker_cost_gbp": pl.Series(cost[fam]),
    })  # fmt: skip
    return _rows(rng, world, "programme", "programme", person, index_date[fam], fields)

