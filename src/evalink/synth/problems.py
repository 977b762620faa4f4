"""Headline problems, eligibility and the cohort.

The six headline problems of the programme's second phase, judged for each council
family from its members' records in the baseline (the two years before attachments
began), as the council's own sources show them. A family is eligible with at least two.
Eligible families are attached partly on what the council can see (more problems,
children in need come first) and partly by chance (keyworker capacity), so a naive
attached-vs-waiting comparison is biased, and a comparison within the selection
strata is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalink.synth.calendar import ATTACH_END, ATTACH_START, BASELINE_END, BASELINE_START

HEADLINES = ("crime_asb", "education", "children_need_help", "worklessness", "domestic_abuse", "health")
MIN_HEADLINES = 2
# Persistent absence: a pupil missing at least this share of sessions over the baseline.
PERSISTENT_ABSENCE = 0.15
# P(attached | eligible) = logistic(a + b*(headlines - 2) + c*children_need_help).
SELECT_INTERCEPT = -0.6
SELECT_PER_HEADLINE = 0.7
SELECT_CHILDREN_NEED_HELP = 0.8
# Keyworker cost per attached family: lognormal around this median, plus per headline.
KEYWORKER_MEDIAN_GBP = 2600.0
KEYWORKER_PER_HEADLINE_GBP = 400.0
KEYWORKER_SIGMA = 0.35
PROGRAMME_MONTHS = (6, 18)  # uniform range of time worked with


@dataclass
class Cohort:
    headlines: np.ndarray  # (n_families, 6) bool
    eligible: np.ndarray
    attached: np.ndarray
    index_date: np.ndarray  # attachment date, or a pseudo-date drawn the same way
    keyworker_cost: np.ndarray  # GBP, 0 if not attached
    closure_date: np.ndarray


def _in_baseline(days: np.ndarray) -> np.ndarray:
    return (days >= BASELINE_START) & (days < BASELINE_END)


def _overlaps_baseline(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    return (start < BASELINE_END) & (end > BASELINE_START)


def headlines(
    n_families: int,
    family_of: np.ndarray,
    *,
    police: np.ndarray,
    attendance: dict[str, np.ndarray],
    baseline_terms: np.ndarray,
    exclusions: np.ndarray,
    social_care_starts: np.ndarray,
    social_care_person: np.ndarray,
    workless_person: np.ndarray,
    workless_start: np.ndarray,
    workless_end: np.ndarray,
    domestic_abuse: np.ndarray,
    da_days: np.ndarray,
    health_person: np.ndarray,
    health_days: np.ndarray,
    police_days: np.ndarray,
    exclusion_days: np.ndarray,
) -> np.ndarray:
    """(n_families, 6) headline flags from council-visible records (person-level arrays)."""
    out = np.zeros((n_families, len(HEADLINES)), dtype=bool)

    def mark(col: int, persons: np.ndarray) -> None:
        fam = family_of[persons]
        out[fam[fam >= 0], col] = True

    mark(0, police[_in_baseline(police_days)])
    # Education: persistent absence over the baseline terms, or any exclusion.
    a = attendance
    in_base = np.isin(a["term"], baseline_terms)
    pupils = a["person"][in_base]
    missed = np.bincount(pupils, weights=a["missed"][in_base], minlength=len(family_of))
    possible = np.bincount(pupils, weights=a["possible"][in_base], minlength=len(family_of))
    persistent = np.flatnonzero((possible > 0) & (missed >= PERSISTENT_ABSENCE * np.maximum(possible, 1)))
    mark(1, persistent)
    mark(1, exclusions[_in_baseline(exclusion_days)])
    mark(2, social_care_person[_in_baseline(social_care_starts)])
    mark(3, workless_person[_overlaps_baseline(workless_start, workless_end)])
    mark(4, domestic_abuse[_in_baseline(da_days)])
    mark(5, health_person[_in_baseline(health_days)])
    return out


def select_cohort(rng: np.random.Generator, flags: np.ndarray) -> Cohort:
    n = len(flags)
    count = flags.sum(axis=1)
    eligible = count >= MIN_HEADLINES
    logit = SELECT_INTERCEPT + SELECT_PER_HEADLINE * (count - MIN_HEADLINES) + SELECT_CHILDREN_NEED_HELP * flags[:, 2]
    attached = eligible & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    index_date = rng.integers(ATTACH_START, ATTACH_END, size=n).astype(np.int64)
    cost = np.where(
        attached,
        np.round(KEYWORKER_MEDIAN_GBP * np.exp(rng.normal(0, KEYWORKER_SIGMA, size=n)) + KEYWORKER_PER_HEADLINE_GBP * count, 2),
        0.0,
    )
    months = rng.uniform(*PROGRAMME_MONTHS, size=n)
    closure = index_date + np.round(months * 30.44).astype(np.int64)
    return Cohort(flags, eligible, attached, index_date, cost, closure)
