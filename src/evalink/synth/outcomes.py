"""True events: what happened to each person, before and after attachment.

Every kind of event is a Poisson process whose rate depends on the person's latent risk
(shared within a household, so problems cluster in families), their age and sex. For
members of attached families the rate is multiplied by the planted effect for the months
since attachment (`effects.py`). Spells (benefit claims, care episodes, jobs) are events
with a duration.

The world is generated in two calendar phases: the baseline (before any attachment),
from which eligibility is judged, then the follow-up, once the cohort is known. Poisson
processes on disjoint periods are independent, so this is the same as one pass.

Each generator takes arrays and returns arrays; no loop runs over people or events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evalink.synth.calendar import DAYS_PER_MONTH, DAYS_PER_YEAR, day, ymd
from evalink.synth.effects import Effects, Window, cut_points, ratio_at
from evalink.synth.households import People

# Latent risk: household risk ~ Normal(mean, 1), person risk = household + 0.6 * Normal(0, 1).
COUNCIL_RISK_MEAN = 0.0
POPULATION_RISK_MEAN = -0.4
PERSON_RISK_SD = 0.6


@dataclass(frozen=True)
class Hazard:
    """Events per year = base * exp(beta * risk), within an age range, times a sex factor."""

    base: float
    beta: float
    age_lo: float
    age_hi: float
    female: float = 1.0


HAZARDS: dict[str, Hazard] = {
    "asb": Hazard(0.0012, 1.5, 10, 80, female=0.6),
    "juvenile_offence": Hazard(0.0012, 1.9, 10, 18, female=0.35),
    "adult_offence": Hazard(0.0008, 1.9, 18, 80, female=0.3),
    "domestic_abuse": Hazard(0.00128, 1.4, 16, 80, female=1.5),
    "cin": Hazard(0.0006, 1.8, 0, 18),
    "cpp": Hazard(0.0002, 2.0, 0, 18),
    "lac": Hazard(7e-05, 2.2, 0, 18),
    "mental_health": Hazard(0.0028, 1.1, 16, 80),
    "substance_misuse": Hazard(0.00084, 1.4, 16, 80, female=0.5),
    "vulnerable_new_mother": Hazard(0.00168, 1.3, 16, 25, female=1.0),  # women only
    "jobseeker_claim": Hazard(0.014, 1.1, 16, 66),
    "esa_claim": Hazard(0.00448, 1.1, 16, 66),
    "is_claim": Hazard(0.00448, 1.0, 16, 55, female=1.0),  # women only: lone parents
    "employment": Hazard(0.2, -0.6, 16, 66),
    "exclusion": Hazard(0.0024, 1.6, 5, 16),
}
# Spell lengths in days: minimum + exponential(mean).
DURATIONS = {
    "cin": (30, 240), "cpp": (60, 240), "lac": (60, 500), "JSA": (14, 150), "UC": (30, 250),
    "ESA": (60, 500), "IS": (60, 600), "employment": (30, 900),
}  # fmt: skip
# What happens after an offence, and after a conviction.
DISPOSAL_P = {"no_further_action": 0.35, "caution": 0.25, "conviction": 0.40}
CUSTODY_P = {"adult": 0.30, "juvenile": 0.20}
OTHER_SENTENCE_P = {"community": 0.45, "fine": 0.40, "discharge": 0.15}  # of non-custodial
PERMANENT_EXCLUSION_SHARE = 0.03
# Universal Credit replaced JSA for new jobseekers gradually.
UC_FROM = day("2016-04-01")
UC_FULL = day("2019-04-01")
UC_FULL_SHARE = 0.85
# School absence: share of sessions missed = logistic(ABSENCE_INTERCEPT + ABSENCE_BETA*risk + noise).
ABSENCE_INTERCEPT = -3.8
ABSENCE_BETA = 0.8
ABSENCE_PUPIL_SD = 0.4
ABSENCE_TERM_SD = 0.3


@dataclass
class Context:
    """Who was treated, from when, and with what effects."""

    risk: np.ndarray  # per person
    index_date: np.ndarray  # per person: family's (pseudo-)attachment date, days
    treated: np.ndarray  # per person: member of an attached family
    effects: Effects


def person_risk(rng: np.random.Generator, people: People) -> np.ndarray:
    council = np.arange(people.n_households) < people.n_council_households
    hh_risk = rng.normal(np.where(council, COUNCIL_RISK_MEAN, POPULATION_RISK_MEAN), 1.0)
    return hh_risk[people.household] + rng.normal(0.0, PERSON_RISK_SD, size=people.n)


def _window(people: People, hazard: Hazard, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People who could have the event in [lo, hi), and their own [lo, hi) by age."""
    p_lo = np.maximum(lo, people.dob + np.ceil(hazard.age_lo * DAYS_PER_YEAR)).astype(np.int64)
    p_hi = np.minimum(hi, people.dob + np.floor(hazard.age_hi * DAYS_PER_YEAR)).astype(np.int64)
    who = np.flatnonzero(p_hi > p_lo)
    return who, p_lo[who], p_hi[who]


def poisson_events(
    rng: np.random.Generator,
    rate: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    index_date: np.ndarray | None = None,
    treated: np.ndarray | None = None,
    windows: tuple[Window, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Event (position, day) pairs for rates per year over per-entry [lo, hi).

    With `windows`, entries that are `treated` have their rate multiplied by the ratio
    for the months since `index_date`; the period is cut at each window boundary.
    """
    n = len(rate)
    if windows is None or index_date is None or treated is None:
        bounds = np.stack([lo, hi], axis=1)
        mult = np.ones((n, 1))
    else:
        months = cut_points(windows)
        cuts = index_date[:, None] + np.round(np.array(months) * DAYS_PER_MONTH).astype(np.int64)[None, :]
        bounds = np.concatenate([lo[:, None], np.clip(cuts, lo[:, None], hi[:, None]), hi[:, None]], axis=1)
        seg_ratio = np.array([1.0] + [ratio_at(windows, m) for m in months])
        mult = np.where(treated[:, None], seg_ratio[None, :], 1.0)
    length = np.maximum(bounds[:, 1:] - bounds[:, :-1], 0)
    counts = rng.poisson(rate[:, None] * (length / DAYS_PER_YEAR) * mult)
    k = counts.shape[1]
    flat = np.repeat(np.arange(n * k, dtype=np.int64), counts.ravel())
    pos, seg = flat // k, flat % k
    start = bounds[pos, seg]
    days = start + np.floor(rng.random(len(flat)) * length[pos, seg]).astype(np.int64)
    return pos, days


def hazard_events(
    rng: np.random.Generator,
    people: People,
    ctx: Context,
    name: str,
    lo: int,
    hi: int,
    effect: str | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(person, day) for one kind of event in calendar [lo, hi)."""
    hz = HAZARDS[name]
    who, p_lo, p_hi = _window(people, hz, lo, hi)
    if mask is not None:
        keep = mask[who]
        who, p_lo, p_hi = who[keep], p_lo[keep], p_hi[keep]
    rate = hz.base * np.exp(hz.beta * ctx.risk[who]) * np.where(people.male[who], 1.0, hz.female)
    windows = ctx.effects.get(effect) if effect else None
    pos, days = poisson_events(rng, rate, p_lo, p_hi, ctx.index_date[who], ctx.treated[who], windows)
    person = who[pos]
    order = np.lexsort((days, person))
    return person[order], days[order]


def durations(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    minimum, mean = DURATIONS[kind]
    return (minimum + rng.exponential(mean, size=n)).astype(np.int64)


def months_since(days: np.ndarray, index_date: np.ndarray) -> np.ndarray:
    return (days - index_date) / DAYS_PER_MONTH


def ratio_array(windows: tuple[Window, ...], months: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Per-event ratio: the window's ratio for treated events after attachment, else 1."""
    out = np.ones(len(months))
    for w in windows:
        inside = treated & (months >= w.from_month)
        if w.to_month is not None:
            inside &= months < w.to_month
        out[inside] = w.ratio
    return out


def uc_share(days: np.ndarray) -> np.ndarray:
    return np.clip((days - UC_FROM) / (UC_FULL - UC_FROM), 0.0, 1.0) * UC_FULL_SHARE


# --- the event tables -------------------------------------------------------------------


def offences(rng: np.random.Generator, people: People, ctx: Context, lo: int, hi: int) -> dict[str, np.ndarray]:
    """Police-recorded offences with their disposal and sentence."""
    jp, jd = hazard_events(rng, people, ctx, "juvenile_offence", lo, hi, effect="juvenile_conviction")
    ap, ad = hazard_events(rng, people, ctx, "adult_offence", lo, hi)
    person = np.concatenate([jp, ap])
    days = np.concatenate([jd, ad])
    juvenile = np.concatenate([np.ones(len(jp), bool), np.zeros(len(ap), bool)])
    u = rng.random(len(person))
    disposal = np.where(
        u < DISPOSAL_P["no_further_action"], 0, np.where(u < DISPOSAL_P["no_further_action"] + DISPOSAL_P["caution"], 1, 2)
    ).astype(np.int8)
    months = months_since(days, ctx.index_date[person])
    treated = ctx.treated[person]
    # Custody share: adults × adult_custody; juveniles × custody/conviction, because
    # the conviction effect already lowered the juvenile offence rate.
    adult_mult = ratio_array(ctx.effects["adult_custody"], months, treated)
    juv_mult = ratio_array(ctx.effects["juvenile_custody"], months, treated) / np.maximum(
        ratio_array(ctx.effects["juvenile_conviction"], months, treated), 1e-9
    )
    p_custody = np.where(juvenile, CUSTODY_P["juvenile"] * juv_mult, CUSTODY_P["adult"] * adult_mult)
    v = rng.random(len(person))
    w = rng.random(len(person))
    other = np.where(w < OTHER_SENTENCE_P["community"], 1, np.where(w < OTHER_SENTENCE_P["community"] + OTHER_SENTENCE_P["fine"], 2, 3))
    sentence = np.where(disposal == 2, np.where(v < np.minimum(p_custody, 1.0), 0, other), -1).astype(np.int8)
    custody_days = np.where(sentence == 0, (30 + rng.exponential(200, size=len(person))).astype(np.int64), 0)
    # Disposal follows the offence by weeks to months.
    disposal_day = days + (14 + rng.exponential(90, size=len(person))).astype(np.int64)
    return {
        "person": person, "day": days, "juvenile": juvenile, "disposal": disposal,
        "sentence": sentence, "custody_days": custody_days, "disposal_day": disposal_day,
    }  # fmt: skip


def simple_events(rng, people, ctx, name, lo, hi, effect=None, mask=None) -> dict[str, np.ndarray]:
    person, days = hazard_events(rng, people, ctx, name, lo, hi, effect=effect, mask=mask)
    return {"person": person, "day": days}


def spells(rng, people, ctx, name, kind, lo, hi, effect=None, mask=None) -> dict[str, np.ndarray]:
    person, days = hazard_events(rng, people, ctx, name, lo, hi, effect=effect, mask=mask)
    return {"person": person, "day": days, "end": days + durations(rng, kind, len(person))}


def benefit_spells(rng, people, ctx, lo, hi, lone_parent: np.ndarray) -> dict[str, np.ndarray]:
    """Out-of-work benefit claims: JSA (UC once rolled out), ESA, IS."""
    jp, jd = hazard_events(rng, people, ctx, "jobseeker_claim", lo, hi, effect="jsa_claim")
    ep, ed = hazard_events(rng, people, ctx, "esa_claim", lo, hi)
    ip, idays = hazard_events(rng, people, ctx, "is_claim", lo, hi, mask=lone_parent)
    is_uc = rng.random(len(jp)) < uc_share(jd)
    kind = np.concatenate([np.where(is_uc, 3, 0), np.full(len(ep), 1), np.full(len(ip), 2)]).astype(np.int8)
    person = np.concatenate([jp, ep, ip])
    days = np.concatenate([jd, ed, idays])
    end = days.copy()
    for code, name in enumerate(BENEFITS):
        m = kind == code
        end[m] = days[m] + durations(rng, name, int(m.sum()))
    order = np.lexsort((kind, days, person))
    return {"person": person[order], "day": days[order], "end": end[order], "benefit": kind[order]}


BENEFITS = ("JSA", "ESA", "IS", "UC")
DISPOSALS = ("no_further_action", "caution", "conviction")
SENTENCES = ("custody", "community", "fine", "discharge")


# --- school terms -----------------------------------------------------------------------

# (academic year start, term, first day, last day, sessions possible)
def terms() -> list[tuple[int, str, int, int, int]]:
    out = []
    for y in range(2013, 2020):
        out.append((y, "autumn", day(f"{y}-09-02"), day(f"{y}-12-20"), 142))
        out.append((y, "spring", day(f"{y + 1}-01-06"), day(f"{y + 1}-03-31"), 118))
        if y < 2019:  # the study window ends before the summer term of 2020
            out.append((y, "summer", day(f"{y + 1}-04-15"), day(f"{y + 1}-07-20"), 128))
    return out


def attendance(
    rng: np.random.Generator, people: People, ctx: Context, select: Callable[[int], bool]
) -> dict[str, np.ndarray]:
    """Termly sessions possible and missed for pupils aged 5-15 on 31 August."""
    pupil_logit = ABSENCE_INTERCEPT + ABSENCE_BETA * ctx.risk + rng.normal(0, ABSENCE_PUPIL_SD, size=people.n)
    y, m, _ = ymd(people.dob)
    # Age on 31 August before the academic year: born Sep..Dec counts as a year younger.
    school_year_of_birth = y + (m >= 9)
    parts = []
    for t, (ay, _term, first, _last, sessions) in enumerate(terms()):
        if not select(first):
            continue
        age = ay - school_year_of_birth
        who = np.flatnonzero((age >= 5) & (age <= 15))
        months = months_since(np.full(len(who), first), ctx.index_date[who])
        ratio = ratio_array(ctx.effects["school_attendance"], months, ctx.treated[who])
        logit = pupil_logit[who] + rng.normal(0, ABSENCE_TERM_SD, size=len(who))
        share = np.clip(1 / (1 + np.exp(-logit)) * ratio, 0, 1)
        possible = np.where(rng.random(len(who)) < 0.03, rng.integers(20, sessions, size=len(who)), sessions)
        missed = rng.binomial(possible, share)
        parts.append((who, np.full(len(who), t, dtype=np.int16), possible, missed))
    person = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
    term_ix = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int16)
    possible = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.int64)
    missed = np.concatenate([p[3] for p in parts]) if parts else np.empty(0, np.int64)
    order = np.lexsort((term_ix, person))
    return {"person": person[order], "term": term_ix[order], "possible": possible[order], "missed": missed[order]}


def key_stages(rng: np.random.Generator, people: People, ctx: Context) -> dict[str, np.ndarray]:
    """KS2 scaled scores (end of Year 6) and KS4 Attainment 8 (end of Year 11), 2014-2019."""
    y, m, _ = ymd(people.dob)
    school_year_of_birth = y + (m >= 9)
    parts = []
    for ay in range(2013, 2019):
        for stage, age, mean, slope, sd, lo_hi in (("KS2", 10, 104.0, -3.0, 6.0, (80, 120)), ("KS4", 15, 47.0, -7.0, 14.0, (0, 90))):
            who = np.flatnonzero(ay - school_year_of_birth == age)
            score = np.clip(rng.normal(mean + slope * ctx.risk[who], sd), *lo_hi).round(1)
            parts.append((who, np.full(len(who), 0 if stage == "KS2" else 1, np.int8), np.full(len(who), ay, np.int16), score))
    person = np.concatenate([p[0] for p in parts])
    stage = np.concatenate([p[1] for p in parts])
    year = np.concatenate([p[2] for p in parts])
    score = np.concatenate([p[3] for p in parts])
    order = np.lexsort((year, person))
    return {"person": person[order], "stage": stage[order], "year": year[order], "score": score[order]}


def concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Baseline + follow-up, re-sorted by person then day so row order is fixed."""
    out = {k: np.concatenate([a[k], b[k]]) for k in a}
    keys = [out[k] for k in ("term", "day") if k in out] + [out["person"]]
    order = np.lexsort(keys)
    return {k: v[order] for k, v in out.items()}

