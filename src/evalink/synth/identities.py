"""True identities: each person's names as their family uses them, and their NINO.

Names follow the naming traditions of the communities a West Midlands council serves,
with the structure that makes them hard to link:

- Sikh families: the religious names Singh (men) and Kaur (women) are used as a middle
  name or as the surname; a family name (got) such as Sandhu may or may not be used, so
  a father "Singh", mother "Kaur" and children with a got are one family.
- Muslim families: many men carry the religious first name Mohammed (in several
  spellings) before the name they are called by; women may use Begum or Bibi as a
  surname; children's surnames do not always follow the father's.
- White British and other families: marriage surname changes, double-barrelled names,
  sons named after their fathers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalink.synth.calendar import REFERENCE_DATE, SNAPSHOT_DATE, age_years, day
from evalink.synth.households import ADULT, CHILD, FATHER, GRANDPARENT, MOTHER, People
from evalink.synth.names import (
    GROUP_CODE,
    NAMING_GROUPS,
    OTHER_TRADITIONS,
    lookup_alternative,
    sample_forenames,
    sample_surnames,
    tables,
)

# Share of households by naming group, in the council area and elsewhere in England.
COUNCIL_NAMING = {"white_british": 0.62, "sikh": 0.10, "muslim": 0.12, "other": 0.16}
NATIONAL_NAMING = {"white_british": 0.78, "sikh": 0.02, "muslim": 0.06, "other": 0.14}
DEFAULT_SOUTH_ASIAN_SHARE = COUNCIL_NAMING["sikh"] + COUNCIL_NAMING["muslim"]

MIDDLE_NAME = 0.40  # white British and other: share with a middle name
JUNIOR = 0.06  # share of families with father and a son where the eldest son has his forename
MARRIED_COUPLE = 0.60  # couples where the mother took the father's surname
LONE_MOTHER_EX_MARRIED = 0.40  # lone mothers who kept an ex-husband's surname
CHILD_MOTHERS_SURNAME = 0.30  # unmarried couples: children with the mother's surname
DOUBLE_BARRELLED = {"white_british": 0.025, "other": 0.01}
SIKH_USES_GOT = 0.65  # Sikh families using a family name as surname
SIKH_GOT_KNOWN = 0.30  # ...of the others, share whose got some service has recorded
MOHAMMED_PREFIX = 0.30  # Muslim men with Mohammed before their called name
MUSLIM_CHILD_OWN_SURNAME = 0.25  # children whose surname is not the father's
MUSLIM_MOTHER_BEGUM = 0.35  # mothers using Begum/Bibi as surname
MUSLIM_MOTHER_HUSBAND = 0.40  # mothers using the husband's surname (rest: their own)
NINO_MIN_AGE = 16

# NINO prefixes: first letter not D F I Q U V, second not D F I O Q U V, and not
# the reserved pairs BG GB KN NK NT TN ZZ.
_FIRST = [c for c in "ABCEGHJKLMNOPRSTWXYZ"]
_SECOND = [c for c in "ABCEGHJKLMNPRSTWXYZ"]
NINO_PREFIXES = np.array(
    [a + b for a in _FIRST for b in _SECOND if a + b not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}]
)


@dataclass
class Identities:
    """Per person: name codes into names.tables().vocab (-1 = none), group, NINO."""

    group: np.ndarray  # int8 naming group
    forename: np.ndarray
    middle: np.ndarray
    alt_forename: np.ndarray  # the name some services use instead (Mohammed Imran → Imran)
    surname: np.ndarray
    surname2: np.ndarray  # second part of a double-barrelled surname
    alt_surname: np.ndarray  # maiden name, religious name, husband's name...
    religious: np.ndarray  # Singh/Kaur for Sikh people who use a got
    nino: np.ndarray  # numpy str, '' = none


def naming_shares(south_asian_share: float) -> dict[str, float]:
    """Council naming shares with Sikh + Muslim scaled to `south_asian_share`."""
    base = DEFAULT_SOUTH_ASIAN_SHARE
    shares = {}
    for group, share in COUNCIL_NAMING.items():
        if group in ("sikh", "muslim"):
            shares[group] = share * south_asian_share / base
        else:
            shares[group] = share * (1 - south_asian_share) / (1 - base)
    return shares


def _group_per_household(rng, n_households, in_area, south_asian_share) -> np.ndarray:
    council = naming_shares(south_asian_share)
    p_c = np.array([council[g] for g in NAMING_GROUPS])
    p_n = np.array([NATIONAL_NAMING[g] for g in NAMING_GROUPS])
    u = rng.random(n_households)
    g_c = np.searchsorted(np.cumsum(p_c) / p_c.sum(), u, side="right")
    g_n = np.searchsorted(np.cumsum(p_n) / p_n.sum(), u, side="right")
    return np.minimum(np.where(in_area, g_c, g_n), len(NAMING_GROUPS) - 1).astype(np.int8)


def _first_per_household(household: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Index of the first person matching `mask` in each household (people are sorted)."""
    idx = np.flatnonzero(mask)
    _, first = np.unique(household[idx], return_index=True)
    return idx[first]


def make_ninos(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct NINOs in the valid format, e.g. 'AB123456C'."""
    space = len(NINO_PREFIXES) * 1_000_000 * 4
    values = rng.integers(0, space, size=n, dtype=np.int64)
    for _ in range(20):
        uniq, first = np.unique(values, return_index=True)
        if len(uniq) == n:
            break
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        values[dup] = rng.integers(0, space, size=int(dup.sum()), dtype=np.int64)
    prefix = NINO_PREFIXES[values // 4_000_000]
    digits = np.char.zfill(((values // 4) % 1_000_000).astype(str), 6)
    suffix = np.array(list("ABCD"))[values % 4]
    return np.char.add(np.char.add(prefix, digits), suffix)


def make_identities(
    rng: np.random.Generator, people: People, in_area: np.ndarray, south_asian_share: float
) -> Identities:
    t = tables()
    n = people.n
    hh = people.household
    role = people.role
    male = people.male
    hh_group = _group_per_household(rng, people.n_households, in_area, south_asian_share)
    group = hh_group[hh]
    # Naming tradition: the group itself, or for 'other' one of its traditions per household.
    shares = np.array(list(OTHER_TRADITIONS.values()))
    sub = np.searchsorted(np.cumsum(shares) / shares.sum(), rng.random(people.n_households), side="right")
    hh_tradition = np.where(hh_group == GROUP_CODE["other"], GROUP_CODE["other"] + np.minimum(sub, len(shares) - 1), hh_group)
    tradition = hh_tradition[hh]
    born_recently = people.dob >= day("1995-01-01")
    forename = sample_forenames(rng, tradition, male, born_recently)
    middle = np.where(rng.random(n) < MIDDLE_NAME, sample_forenames(rng, tradition, male, born_recently), -1).astype(np.int32)
    alt_forename = np.full(n, -1, dtype=np.int32)

    # Sons named after their fathers: same forename and surname, a generation apart.
    eldest_son = _first_per_household(hh, (role == CHILD) & male & (people.father >= 0))
    junior = eldest_son[rng.random(len(eldest_son)) < JUNIOR]
    forename[junior] = forename[people.father[junior]]

    # Family surname per household, and independent surnames for people who differ.
    hh_surname = sample_surnames(rng, hh_tradition)
    own = sample_surnames(rng, tradition)
    other_own = sample_surnames(rng, tradition)
    surname = hh_surname[hh].copy()
    alt_surname = np.full(n, -1, dtype=np.int32)
    surname2 = np.full(n, -1, dtype=np.int32)
    religious = np.full(n, -1, dtype=np.int32)

    has_father = np.zeros(people.n_households, dtype=bool)
    has_father[hh[role == FATHER]] = True
    married = rng.random(people.n_households) < MARRIED_COUPLE
    ex_married = rng.random(people.n_households) < LONE_MOTHER_EX_MARRIED
    kids_mothers = rng.random(people.n_households) < CHILD_MOTHERS_SURNAME

    western = (group == GROUP_CODE["white_british"]) | (group == GROUP_CODE["other"])
    mother = role == MOTHER
    # Married mothers (and lone mothers once married) carry the husband's surname and
    # had another at birth; unmarried mothers keep their own, and so may the children.
    wm = western & mother
    took = np.where(has_father[hh], married[hh], ex_married[hh])
    alt_surname[wm & took] = own[wm & took]
    unmarried_couple = wm & has_father[hh] & ~married[hh]
    surname[unmarried_couple] = own[unmarried_couple]
    mothers_name = np.full(people.n_households, -1, dtype=np.int32)
    mothers_name[hh[unmarried_couple]] = own[unmarried_couple]
    kids_take = western & (role == CHILD) & (mothers_name[hh] >= 0) & kids_mothers[hh]
    surname[kids_take] = mothers_name[hh[kids_take]]
    # Grandparents: half are the mother's parents, with her birth surname.
    grand = western & (role == GRANDPARENT) & (rng.random(n) < 0.5)
    surname[grand] = own[grand]
    # Single adults and couples outside families.
    adult = role == ADULT
    own_adult = adult & (rng.random(n) < 0.45)
    surname[own_adult] = own[own_adult]
    adult_woman_married = western & adult & ~male & (age_years(people.dob, REFERENCE_DATE) > 25) & (rng.random(n) < 0.5)
    alt_surname[adult_woman_married] = other_own[adult_woman_married]
    # Double-barrelled family names.
    p_double = np.zeros(len(NAMING_GROUPS))
    for g, p in DOUBLE_BARRELLED.items():
        p_double[GROUP_CODE[g]] = p
    hh_double = rng.random(people.n_households) < p_double[hh_group]
    second = sample_surnames(rng, hh_tradition)
    dbl = hh_double[hh] & (surname == hh_surname[hh]) & western
    surname2[dbl] = second[hh[dbl]]

    # Sikh: religious name Singh/Kaur; a got as surname in some families.
    sikh = group == GROUP_CODE["sikh"]
    rel = np.where(male, t.singh, t.kaur).astype(np.int32)
    uses_got = (rng.random(people.n_households) < SIKH_USES_GOT)[hh]
    s_got = sikh & uses_got
    surname[s_got & (role == MOTHER)] = hh_surname[hh[s_got & (role == MOTHER)]]
    middle[s_got] = rel[s_got]
    religious[s_got] = rel[s_got]
    alt_surname[s_got] = rel[s_got]
    s_rel = sikh & ~uses_got
    surname[s_rel] = rel[s_rel]
    known = s_rel & (rng.random(n) < SIKH_GOT_KNOWN)
    alt_surname[known] = hh_surname[hh[known]]
    # Sikh forenames are mostly unisex, so the religious name is what tells sex apart.

    # Muslim: Mohammed prefix, Begum/Bibi, children's own surnames.
    muslim = group == GROUP_CODE["muslim"]
    prefix = muslim & male & (rng.random(n) < MOHAMMED_PREFIX)
    spellings = lookup_alternative(rng, np.full(n, t.mohammed, dtype=np.int32), t.variant_from, t.variant_to)
    spelled = np.where(rng.random(n) < 0.5, t.mohammed, spellings)
    alt_forename[prefix] = forename[prefix]
    middle[prefix] = forename[prefix]
    forename[prefix] = spelled[prefix]
    kid_own = muslim & (role == CHILD) & (rng.random(n) < MUSLIM_CHILD_OWN_SURNAME)
    surname[kid_own] = own[kid_own]
    mm = muslim & (role == MOTHER)
    u = rng.random(n)
    begum = mm & (u < MUSLIM_MOTHER_BEGUM)
    surname[begum] = np.where(rng.random(n) < 0.6, t.begum, t.bibi)[begum]
    alt_surname[begum] = hh_surname[hh[begum]]
    husband = mm & (u >= MUSLIM_MOTHER_BEGUM) & (u < MUSLIM_MOTHER_BEGUM + MUSLIM_MOTHER_HUSBAND)
    alt_surname[husband] = own[husband]
    own_name = mm & (u >= MUSLIM_MOTHER_BEGUM + MUSLIM_MOTHER_HUSBAND)
    surname[own_name] = own[own_name]
    alt_surname[own_name] = hh_surname[hh[own_name]]
    muslim_middle = muslim & ~prefix & (rng.random(n) < 0.5)
    middle[muslim & ~prefix & ~muslim_middle] = -1

    # A NINO for everyone 16 or over when the departments are asked to match.
    adult_at_snapshot = age_years(people.dob, SNAPSHOT_DATE) >= NINO_MIN_AGE
    nino = np.full(n, "", dtype="<U9")
    nino[adult_at_snapshot] = make_ninos(rng, int(adult_at_snapshot.sum()))
    return Identities(group.astype(np.int8), forename, middle, alt_forename, surname, surname2, alt_surname, religious, nino)
