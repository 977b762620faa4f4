"""Households: who lives with whom, their ages and sexes.

The council's families are drawn as the programme saw them: every family has at least
one child, many are lone parents, some have a grandparent or a grown-up son or daughter
at home, some have twins. The rest of the population the departments hold is a mix of
single adults, couples and families, drawn the same way with different shares.

Everything is vectorised: per-household counts are drawn first, then people are made
with np.repeat, so the cost is a handful of array operations whatever the size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalink.errors import InputError
from evalink.synth.calendar import DAYS_PER_YEAR, REFERENCE_DATE

# Roles within a household, in the order members are listed.
MOTHER, FATHER, GRANDPARENT, ADULT_CHILD, CHILD, ADULT = 0, 1, 2, 3, 4, 5
ROLE_NAMES = ("mother", "father", "grandparent", "adult_child", "child", "adult")


@dataclass(frozen=True)
class FamilyShape:
    """Shares that shape family households (documented in docs/synthetic-data.md)."""

    lone_parent: float
    lone_father_of_lone: float
    children_p: tuple[float, ...]  # P(1 child), P(2 children), ...
    grandparent: float  # share of families with one or two grandparents at home
    two_grandparents: float
    adult_child: float  # share with a son or daughter aged 19-24 at home
    twins: float  # share of families with 2+ children that include a pair of twins


COUNCIL_FAMILY = FamilyShape(
    lone_parent=0.45,
    lone_father_of_lone=0.10,
    children_p=(0.30, 0.35, 0.20, 0.09, 0.04, 0.02),
    grandparent=0.08,
    two_grandparents=0.30,
    adult_child=0.12,
    twins=0.04,
)
POPULATION_FAMILY = FamilyShape(
    lone_parent=0.25,
    lone_father_of_lone=0.10,
    children_p=(0.42, 0.40, 0.13, 0.04, 0.01, 0.0),
    grandparent=0.04,
    two_grandparents=0.30,
    adult_child=0.10,
    twins=0.03,
)
# Households of the wider population that are not families with children.
POPULATION_SINGLE = 0.30
POPULATION_COUPLE = 0.28  # the rest (0.42) are families shaped by POPULATION_FAMILY
MALE_BIRTH_SHARE = 0.51


@dataclass
class People:
    """One entry per person, households contiguous and council families first."""

    household: np.ndarray  # int64, household index
    role: np.ndarray  # int8
    male: np.ndarray  # bool
    dob: np.ndarray  # int64 days since epoch
    father: np.ndarray  # int64, index of the father in the same household, -1 if none
    twin: np.ndarray  # bool, one of a pair of twins
    n_households: int
    n_council_households: int

    @property
    def n(self) -> int:
        return len(self.household)


def _family_members(rng: np.random.Generator, first_household: int, n: int, shape: FamilyShape):
    """Arrays (household, role, male, age) for n family households."""
    hh = np.arange(first_household, first_household + n, dtype=np.int64)
    lone = rng.random(n) < shape.lone_parent
    lone_father = lone & (rng.random(n) < shape.lone_father_of_lone)
    has_mother = ~lone_father
    has_father = ~lone | lone_father
    probs = np.array(shape.children_p) / np.sum(shape.children_p)
    n_children = 1 + rng.choice(len(probs), size=n, p=probs)
    adult_child = rng.random(n) < shape.adult_child
    n_grand = (rng.random(n) < shape.grandparent) * (1 + (rng.random(n) < shape.two_grandparents))

    # Children, eldest first: ages are a youngest age plus the gaps between siblings.
    child_hh = np.repeat(hh, n_children)
    starts = np.concatenate(([0], np.cumsum(n_children)[:-1]))
    rank = np.arange(len(child_hh)) - np.repeat(starts, n_children)
    gaps = 1.0 + rng.gamma(2.0, 0.6, size=len(child_hh))
    gaps[rank == 0] = 0.0
    has_twins = (n_children >= 2) & (rng.random(n) < shape.twins)
    twin_rank = 1 + np.floor(rng.random(n) * np.maximum(n_children - 1, 1)).astype(np.int64)
    twin_second = has_twins[child_hh - first_household] & (rank == twin_rank[child_hh - first_household])
    gaps[twin_second] = 0.0
    twin_first = np.zeros_like(twin_second)
    twin_first[np.flatnonzero(twin_second) - 1] = True
    twin = twin_first | twin_second
    cum = np.cumsum(gaps)
    cum_in = cum - np.repeat(cum[starts], n_children)
    span = np.bincount(child_hh - first_household, weights=gaps, minlength=n)
    squeeze = np.where(span > 17.0, 17.0 / np.maximum(span, 1e-9), 1.0)
    span = span * squeeze
    cum_in = cum_in * np.repeat(squeeze, n_children)
    youngest = rng.random(n) * (17.99 - span)
    child_age = np.repeat(youngest + span, n_children) - cum_in
    child_male = rng.random(len(child_hh)) < MALE_BIRTH_SHARE
    # Twins share a birth date exactly, so give the pair the same age to the day.
    child_age[twin_second] = child_age[np.flatnonzero(twin_second) - 1]

    eldest_child = youngest + span
    ac_age = 19.0 + rng.random(n) * 6.0
    eldest = np.where(adult_child, np.maximum(ac_age, eldest_child), eldest_child)
    first_birth = 16.0 + rng.gamma(2.2, 3.2, size=n)
    mother_age = eldest + first_birth
    father_age = np.maximum(mother_age + rng.normal(2.5, 3.5, size=n), eldest + 16.0)
    parent_age = np.where(has_mother, mother_age, father_age)
    grand_age = np.minimum(parent_age + 18.0 + rng.gamma(2.0, 4.0, size=n), 97.0)

    parts = [
        (hh[has_mother], MOTHER, np.zeros(has_mother.sum(), bool), mother_age[has_mother], np.zeros(has_mother.sum(), bool)),
        (hh[has_father], FATHER, np.ones(has_father.sum(), bool), father_age[has_father], np.zeros(has_father.sum(), bool)),
    ]
    g_hh = np.repeat(hh, n_grand)
    g_rank = np.arange(len(g_hh)) - np.repeat(np.concatenate(([0], np.cumsum(n_grand)[:-1])), n_grand)
    g_pair = np.repeat(n_grand == 2, n_grand)
    g_male = np.where(g_pair, g_rank == 0, rng.random(len(g_hh)) < 0.3)
    parts.append((g_hh, GRANDPARENT, g_male, np.repeat(grand_age, n_grand), np.zeros(len(g_hh), bool)))
    parts.append((hh[adult_child], ADULT_CHILD, rng.random(adult_child.sum()) < 0.6, ac_age[adult_child], np.zeros(adult_child.sum(), bool)))
    parts.append((child_hh, CHILD, child_male, child_age, twin))
    return parts


def _adult_households(rng: np.random.Generator, first_household: int, n_single: int, n_couple: int):
    hh_s = np.arange(first_household, first_household + n_single, dtype=np.int64)
    hh_c = np.arange(first_household + n_single, first_household + n_single + n_couple, dtype=np.int64)
    age_s = 18.0 + 77.0 * rng.beta(1.3, 1.6, size=n_single)
    age_c = 20.0 + 70.0 * rng.beta(1.5, 1.8, size=n_couple)
    age_c2 = np.clip(age_c + rng.normal(-1.5, 4.0, size=n_couple), 18.0, 97.0)
    return [
        (hh_s, ADULT, rng.random(n_single) < 0.48, age_s, np.zeros(n_single, bool)),
        (hh_c, ADULT, np.ones(n_couple, bool), age_c, np.zeros(n_couple, bool)),
        (hh_c, ADULT, np.zeros(n_couple, bool), age_c2, np.zeros(n_couple, bool)),
    ]


def _assemble(rng: np.random.Generator, parts, n_households: int, n_council: int) -> People:
    household = np.concatenate([p[0] for p in parts])
    role = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int8) for p in parts])
    male = np.concatenate([p[2] for p in parts])
    age = np.concatenate([p[3] for p in parts])
    twin = np.concatenate([p[4] for p in parts])
    order = np.lexsort((-age, role, household))
    household, role, male, age, twin = household[order], role[order], male[order], age[order], twin[order]
    # Ages are continuous, so birthdays spread over the year; twins were given the same
    # age to the last bit above, so they get the same date of birth here.
    dob = (REFERENCE_DATE - np.floor(age * DAYS_PER_YEAR)).astype(np.int64)
    father_at = np.full(n_households, -1, dtype=np.int64)
    is_father = role == FATHER
    father_at[household[is_father]] = np.flatnonzero(is_father)
    father = np.where(role == CHILD, father_at[household], -1)
    return People(household, role, male, dob, father, twin, n_households, n_council)


def make_people(rng: np.random.Generator, families: int, population: int) -> People:
    """`families` council families plus other households, `population` people in all."""
    parts = _family_members(rng, 0, families, COUNCIL_FAMILY)
    in_families = sum(len(p[0]) for p in parts)
    remaining = population - in_families
    if remaining < 0:
        raise InputError(
            f"--population {population} is smaller than the {in_families} people in "
            f"{families} families; use a population of at least {in_families}"
        )
    # Draw a few more households than needed, keep whole ones up to the target, then
    # fill the last few places with single adults so the total is exact.
    mean_size = POPULATION_SINGLE + 2 * POPULATION_COUPLE + (1 - POPULATION_SINGLE - POPULATION_COUPLE) * 3.6
    n_h = int(remaining / mean_size * 1.1) + 10
    kind = rng.choice(3, size=n_h, p=[POPULATION_SINGLE, POPULATION_COUPLE, 1 - POPULATION_SINGLE - POPULATION_COUPLE])
    n_single, n_couple = int((kind == 0).sum()), int((kind == 1).sum())
    n_family = n_h - n_single - n_couple
    pop_parts = _adult_households(rng, families, n_single, n_couple)
    pop_parts += _family_members(rng, families + n_single + n_couple, n_family, POPULATION_FAMILY)
    pop_hh = np.concatenate([p[0] for p in pop_parts])
    size = np.bincount(pop_hh - families, minlength=n_h)
    # Households are interleaved by kind in a random order before truncating, so the
    # cut does not remove one kind only.
    order = rng.permutation(n_h)
    keep_sorted = np.cumsum(size[order]) <= remaining
    keep = np.zeros(n_h, dtype=bool)
    keep[order[keep_sorted]] = True
    new_index = np.full(n_h, -1, dtype=np.int64)
    kept_in_order = order[keep_sorted]
    new_index[kept_in_order] = families + np.arange(len(kept_in_order))
    parts_kept = []
    for hh, role, male, age, twin in pop_parts:
        m = keep[hh - families]
        parts_kept.append((new_index[hh[m] - families], role, male[m], age[m], twin[m]))
    n_kept = len(kept_in_order)
    filled = int(size[kept_in_order].sum())
    n_fill = remaining - filled
    parts_kept += _adult_households(rng, families + n_kept, n_fill, 0)[:1]
    return _assemble(rng, parts + parts_kept, families + n_kept + n_fill, families)
