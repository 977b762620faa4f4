"""The staggered-entry estimator: Callaway & Sant'Anna (2021), as diff-diff implements
it, for a programme families joined in different months.

Families worked with joined at their index date; the comparison families (eligible,
waiting) have an index date too but are never worked with. Each person becomes a row
per calendar period (`period_months` long, numbered 1, 2, … from the earliest month the
data show) holding their outcome in that period. A person worked with is first treated
in the period that holds their family's index month (diff-diff's `first_treat`); a
comparison person has `first_treat = 0`, diff-diff's code for never treated.

diff-diff estimates one effect per cohort g (the period its families joined) and period
t, ATT(g, t), by a doubly robust 2×2 comparison of period t against period g − 1, the
last period wholly before the cohort's index months. The controls for (g, t) are the
comparison persons and the persons worked with whose cohort is later than t
(`control_group="not_yet_treated"`: diff-diff takes a unit as control only while its
`first_treat` exceeds both t and the base period). So a family worked with later
stands in for the comparison arm in the periods before the one holding its own index
month, and never after. Standard errors are diff-diff's analytic influence-function
ones, clustered by family.

The effects are averaged by event time e = t − g (diff-diff's event-study aggregation,
cohorts weighted by their size), and the event times are combined into the plan's
windows of months since the index date (see `window_weights` for the mapping). The
estimate is the ratio of the programme arm's observed rate in the window to its
counterfactual, the observed rate less the effect.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from diff_diff import CallawaySantAnna
from scipy.stats import norm
from scipy.stats import t as student_t
from threadpoolctl import threadpool_limits

MEASURES = ("any_event", "events_per_person_year", "mean_share")
CONFIDENCE = 0.95
# The same floors as the primary estimator: fewer events than this in either arm, or
# fewer persons or families, and a window's ratio is noise whose interval understates it.
MIN_EVENTS = 5
MIN_PERSONS = 10
MIN_FAMILIES = 5
# A window whose estimable event times hold less than this share of its months is not
# estimated: the effect would stand for other months than the window's.
MIN_COVERED_SHARE = 0.5
MAX_WARNINGS = 4


@dataclass(frozen=True)
class StaggeredEffect:
    window_from_month: int
    window_to_month: int
    estimate: float | None  # programme rate / (programme rate − ATT): over its counterfactual
    ci_low: float | None
    ci_high: float | None
    att: float | None  # the window's ATT on the outcome's own (additive) scale
    att_se: float | None
    programme_rate: float | None  # the programme arm's observed mean in the window's cells
    comparison_rate: float | None  # the counterfactual: programme_rate − att
    n_programme: int
    n_comparison: int  # persons never worked with (those worked with later serve too, uncounted)
    families_programme: int
    families_comparison: int
    note: str = ""  # why an estimate is missing, and what diff-diff warned of


@dataclass(frozen=True)
class Panel:
    """Persons × calendar periods, as diff-diff reads it and as the rates need it."""

    long: pd.DataFrame  # unit, family, period, first_treat, outcome, covariates; finite outcomes
    outcome: np.ndarray  # persons × periods (column k is period k + 1); NaN = not measured
    events: np.ndarray  # persons × periods: events (or terms, for mean_share) counted
    first_treat: np.ndarray  # per person: the period holding the index month; 0 = never
    index_month: np.ndarray  # per person, months since the panel's first month
    programme: np.ndarray  # per person, 1 = worked with
    family: np.ndarray  # per person, a family code
    period_months: int

    @property
    def periods(self) -> int:
        return self.outcome.shape[1]


@dataclass(frozen=True)
class EventStudy:
    """What the windows need from diff-diff's fit."""

    effects: pd.DataFrame  # att, se per estimable event time e (e < 0: pre-trend checks)
    vcov: pd.DataFrame | None  # covariance of the event times' ATTs, if diff-diff gave one
    cells: set[tuple[int, int]]  # the estimable (g, t)
    df: float | None  # degrees of freedom of diff-diff's intervals (families − 1); None: normal


def callaway_santanna(persons: pd.DataFrame, events: pd.DataFrame, *, covariates: list[str],
                      measure: str, windows: list[tuple[int, int]], period_months: int = 6,
                      seed: int = 0) -> list[StaggeredEffect]:
    """One outcome's effect in each window (months since the index date, inclusive).

    `persons`: pseudonym, family, programme (1/0), index_month (year·12 + month − 1) and
    the `covariates`, numeric. `events`: pseudonym, start_lo, start_hi (months since the
    person's index date; a band counts at its midpoint), value and base (for
    `mean_share`, a term's sessions missed and possible).

    The interval is 95%. The ratio's interval is the ATT's interval carried through
    programme_rate / (programme_rate − ATT) with programme_rate held fixed: it treats
    the observed rate as known, so it is a little narrower than one that also allowed
    for the rate's own sampling error. A window short of data gets `estimate=None` and a
    `note`, never an exception. `seed` is handed to diff-diff; its analytic standard
    errors draw nothing at random, so the result does not depend on it.
    """
    if str(measure) not in MEASURES:
        raise ValueError(f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    for low, high in windows:
        if not 0 <= low <= high:
            raise ValueError(f"window ({low}, {high}) is not months 0 or later, in order")
    if persons["programme"].nunique() < 2:
        # Nothing to place in calendar time on one side (every index period withheld,
        # or one arm empty): no panel to build.
        programme = persons["programme"] == 1
        counts = (int(programme.sum()), int((~programme).sum()),
                  int(persons.loc[programme, "family"].nunique()),
                  int(persons.loc[~programme, "family"].nunique()), 0.0, 0.0)
        return [_missing(w, None, "one arm is empty or has no index period", counts) for w in windows]
    panel = person_periods(persons, events, covariates=covariates, measure=str(measure),
                           period_months=period_months)
    if not (panel.first_treat > 0).any() or (panel.programme == 1).all():
        return [_missing(w, panel, "one arm is empty") for w in windows]
    warned: list[str] = []
    try:
        study = _event_study(panel, covariates, str(measure), seed, warned)
    except Exception as error:  # diff-diff refuses data it cannot fit; say why, per window
        reason = f"diff-diff could not fit: {str(error).splitlines()[0][:200]}"
        return [_missing(w, panel, _join(reason, *warned)) for w in windows]
    return [_window_effect(panel, w, study, str(measure), warned) for w in windows]


def person_periods(persons: pd.DataFrame, events: pd.DataFrame, *, covariates: list[str],
                   measure: str, period_months: int) -> Panel:
    """The person × period panel. Every person is taken to be observed over the whole
    calendar span the data show (the earliest to the latest index or event month), as
    in an extract covering fixed calendar years: a period with no event is a zero. For
    mean_share a period with no term has no outcome and is left out — the person was not
    at school — so that panel is unbalanced and diff-diff compares each cell on the
    persons measured in both its periods."""
    persons = _with_pseudonym_column(persons)
    events = events.rename(columns={"start_low": "start_lo", "start_high": "start_hi"})
    index_month = persons["index_month"].to_numpy(dtype=float)
    code = pd.Index(persons["pseudonym"]).get_indexer(events["pseudonym"])
    middle = (events["start_lo"].to_numpy(float) + events["start_hi"].to_numpy(float)) / 2
    usable = (code >= 0) & np.isfinite(middle)
    if measure == "mean_share":
        usable &= np.isfinite(events["value"].to_numpy(float)) & np.isfinite(events["base"].to_numpy(float))
    events, code = events[usable], code[usable]
    event_month = index_month[code] + middle[usable]
    first = np.floor(min(index_month.min(), event_month.min(initial=np.inf)))
    last = max(index_month.max(), event_month.max(initial=-np.inf))
    # A final period the data stop inside is left out: its counts would be short by
    # the months after the data end, in both arms but not in proportion to their rates.
    periods = max(int((np.floor(last) - first + 1) // period_months), 1)
    n = len(persons)
    period = np.floor((event_month - first) / period_months).astype(int)  # 0-based here
    kept = period < periods
    cell = code[kept] * periods + period[kept]
    counts = np.bincount(cell, minlength=n * periods).reshape(n, periods).astype(float)
    if measure == "mean_share":
        value = np.bincount(cell, weights=events["value"].to_numpy(float)[kept], minlength=n * periods)
        base = np.bincount(cell, weights=events["base"].to_numpy(float)[kept], minlength=n * periods)
        with np.errstate(invalid="ignore", divide="ignore"):
            outcome = np.where(base > 0, value / np.where(base > 0, base, 1.0), np.nan).reshape(n, periods)
    elif measure == "any_event":
        outcome = (counts > 0).astype(float)
    else:
        outcome = counts * (12 / period_months)
    programme = persons["programme"].to_numpy(dtype=int)
    index_period = np.floor((index_month - first) / period_months).astype(int) + 1
    first_treat = np.where(programme == 1, index_period, 0)
    family = pd.factorize(persons["family"])[0]
    long = pd.DataFrame({
        "unit": np.repeat(np.arange(n), periods),
        "family": np.repeat(family, periods),
        "period": np.tile(np.arange(1, periods + 1), n),
        "first_treat": np.repeat(first_treat, periods),
        "outcome": outcome.ravel(),
    })
    for name in covariates:
        long[name] = np.repeat(persons[name].to_numpy(dtype=float), periods)
    long = long[np.isfinite(long["outcome"].to_numpy())].reset_index(drop=True)
    return Panel(long=long, outcome=outcome, events=counts, first_treat=first_treat,
                 index_month=index_month - first, programme=programme, family=family,
                 period_months=period_months)


def window_weights(panel: Panel, window: tuple[int, int]) -> dict[int, float]:
    """How much of a window each event time holds.

    The index month sits somewhere inside its period: if it is r months after the
    period's first month (0 ≤ r < P, P = period_months), event time e holds months
    e·P − r … e·P + P − 1 − r since the index date. So e = 0 holds the index month, the
    P − 1 − r months after it and the r months before it; with 6-month periods e = 1
    holds months 6 − r … 11 − r (1–11 over all r, centred on month 6), e = 2 months
    12 − r … 17 − r, and no event time is exactly months 7–12. A window is therefore the
    average of event times weighted by the share of its person-months (each person
    worked with, each month of the window inside the panel) that each holds: with r
    spread evenly, months 7–12 are e = 1 at 15/36 and e = 2 at 21/36.

    e = 0 counts only for a window that starts at the index month (month 0): its
    period mixes untreated months before the index date with treated ones after, which
    would pull a window of months after the index date towards no effect. So months
    1–24 are e = 1 … 4, and the 1–5 months after the index that fall in e = 0 are left
    to the window 0–…, if the plan has one.
    """
    low, high = window
    worked = panel.first_treat > 0
    months = np.arange(low, high + 1, dtype=float)
    calendar = panel.index_month[worked, None] + months[None, :]
    period = np.floor(calendar / panel.period_months).astype(int) + 1
    e = period - panel.first_treat[worked, None]
    e = e[(period <= panel.periods) & (e >= (0 if low == 0 else 1))]
    if e.size == 0:
        return {}
    times, counts = np.unique(e, return_counts=True)
    return {int(k): float(c) / e.size for k, c in zip(times, counts, strict=True)}


def _event_study(panel: Panel, covariates: list[str], measure: str, seed: int,
                 warned: list[str]) -> EventStudy:
    """diff-diff's fit and its event-study aggregation; its warnings go to `warned`."""
    model = CallawaySantAnna(control_group="not_yet_treated", estimation_method="dr",
                             cluster="family", n_bootstrap=0, seed=seed,
                             # A cohort whose propensity model cannot be fitted keeps
                             # the outcome model (still doubly robust) and a warning.
                             pscore_fallback="unconditional")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # One BLAS thread: diff-diff solves hundreds of small least-squares problems,
        # and OpenBLAS's threads fighting over shared cores made a realistic outcome
        # take 18 s instead of 2 s (measured, 8,000 persons × 14 periods).
        with threadpool_limits(limits=1):
            results = model.fit(panel.long, outcome="outcome", unit="unit", time="period",
                                first_treat="first_treat", covariates=covariates or None)
            study = results.aggregate("event_study")
    warned.extend(_warnings(caught, measure))
    table = pd.DataFrame({"att": study.att, "se": study.se, "reference": study.is_reference},
                         index=pd.Index(np.asarray(study.event_time, dtype=int), name="e"))
    table = table.loc[~table["reference"] & np.isfinite(table["att"]), ["att", "se"]]
    vcov = None
    if study.vcov is not None and study.vcov_index is not None:
        labels = np.asarray(study.vcov_index, dtype=int)
        vcov = pd.DataFrame(study.vcov, index=labels, columns=labels)
    cells = {(int(g), int(t)) for (g, t), cell in results.group_time_effects.items()
             if np.isfinite(cell["effect"]) and not cell.get("is_reference", False)}
    df = study.df_survey
    return EventStudy(effects=table, vcov=vcov, cells=cells,
                      df=float(df) if df is not None and np.isfinite(df) and df > 0 else None)


def _window_effect(panel: Panel, window: tuple[int, int], study: EventStudy, measure: str,
                   warned: list[str]) -> StaggeredEffect:
    weights = window_weights(panel, window)
    effects = study.effects
    available = {e: w for e, w in weights.items() if e in effects.index}
    covered = sum(available.values())
    cells = [(g, t) for (g, t) in sorted(study.cells) if (t - g) in available]
    counts = _arm_counts(panel, cells)
    notes = list(warned)
    if not weights:
        return _missing(window, panel, _join("the panel holds no month of the window", *notes), counts)
    if covered < MIN_COVERED_SHARE:
        return _missing(window, panel, _join(
            f"diff-diff estimated event times holding {covered:.0%} of the window's months", *notes), counts)
    if covered < 1 - 1e-9:
        missing = sorted(set(weights) - set(available))
        notes.insert(0, f"event times {missing} not estimable; the rest hold {covered:.0%} of the window")
    n_programme, n_comparison, families_programme, families_comparison, events_p, events_c = counts
    if min(n_programme, n_comparison) < MIN_PERSONS or min(families_programme, families_comparison) < MIN_FAMILIES:
        return _missing(window, panel, _join(
            f"fewer than {MIN_PERSONS} persons or {MIN_FAMILIES} families in an arm", *notes), counts)
    if measure != "mean_share" and min(events_p, events_c) < MIN_EVENTS:
        return _missing(window, panel, _join(f"fewer than {MIN_EVENTS} events in an arm", *notes), counts)
    times = sorted(available)
    w = np.array([available[e] for e in times]) / covered
    att = float(w @ effects.loc[times, "att"].to_numpy())
    vcov = study.vcov
    if vcov is not None and set(times) <= set(vcov.index):
        variance = float(w @ vcov.loc[times, times].to_numpy() @ w)
    else:
        # Without diff-diff's covariance the event times are taken as independent,
        # which understates the variance when they share persons (they do).
        variance = float(w**2 @ effects.loc[times, "se"].to_numpy() ** 2)
        if len(times) > 1:
            notes.insert(0, "no covariance between event times: treated as independent")
    programme_rate = float(w @ np.array([_programme_rate(panel, cells, e) for e in times]))
    comparison_rate = programme_rate - att
    se = float(np.sqrt(variance)) if np.isfinite(variance) and variance >= 0 else None
    estimate = ci_low = ci_high = None
    if comparison_rate <= 0:
        notes.insert(0, "the counterfactual rate (programme rate − ATT) is not positive: no ratio")
    elif se is None:
        estimate = programme_rate / comparison_rate
        notes.insert(0, "no standard error: no interval")
    else:
        estimate = programme_rate / comparison_rate
        ci_low, ci_high = _ratio_interval(programme_rate, att, se, study.df)
        if ci_high is None:
            notes.insert(0, "the interval has no upper end (the counterfactual could be 0)")
    return StaggeredEffect(
        window_from_month=window[0], window_to_month=window[1], estimate=estimate,
        ci_low=ci_low, ci_high=ci_high, att=att, att_se=se, programme_rate=programme_rate,
        comparison_rate=comparison_rate, n_programme=n_programme, n_comparison=n_comparison,
        families_programme=families_programme, families_comparison=families_comparison,
        note=_join(*notes),
    )


def _ratio_interval(programme_rate: float, att: float, se: float,
                    df: float | None) -> tuple[float, float | None]:
    """The ATT's interval carried through programme_rate / (programme_rate − ATT), the
    rate held fixed. The ratio rises with the ATT, so the ends map to the ends; an upper
    ATT at or above the rate leaves the ratio's interval without an upper end."""
    tail = 1 - (1 - CONFIDENCE) / 2
    critical = float(student_t.ppf(tail, df) if df else norm.ppf(tail))
    low, high = att - critical * se, att + critical * se
    upper = programme_rate / (programme_rate - high) if programme_rate - high > 0 else None
    return programme_rate / (programme_rate - low), upper


def _programme_rate(panel: Panel, cells: list[tuple[int, int]], e: int) -> float:
    """The programme arm's observed mean at event time e, weighted as diff-diff weights
    ATT(g, g + e) into ES(e): each cohort by its number of persons, each cohort's mean
    over its persons measured in both period g + e and the cell's base period."""
    observed = np.flatnonzero(np.isfinite(panel.outcome).any(axis=0)) + 1
    means, sizes = [], []
    for g, t in cells:
        if t - g != e:
            continue
        base = observed[observed < g].max()  # diff-diff's: the last observed period before g
        cohort = panel.first_treat == g
        y = panel.outcome[cohort, t - 1]
        measured = np.isfinite(y) & np.isfinite(panel.outcome[cohort, base - 1])
        means.append(y[measured].mean())
        sizes.append(int((np.isfinite(panel.outcome[cohort]).any(axis=1)).sum()))
    return float(np.average(means, weights=sizes))


def _arm_counts(panel: Panel, cells: list[tuple[int, int]]) -> tuple[int, int, int, int, float, float]:
    """Persons, families and events behind a window's cells: the programme arm is the
    cohorts in those cells, measured in their periods; the comparison arm is the
    comparison persons measured in the same periods (persons worked with later also
    serve as controls there, and are not counted here)."""
    periods = np.zeros(panel.periods, dtype=bool)
    in_cell = np.zeros_like(panel.outcome, dtype=bool)
    for g, t in cells:
        in_cell[panel.first_treat == g, t - 1] = True
        periods[t - 1] = True
    measured = np.isfinite(panel.outcome)
    worked = (in_cell & measured).any(axis=1)
    comparison = (panel.programme == 0) & measured[:, periods].any(axis=1)
    events_p = float(panel.events[in_cell & measured].sum())
    events_c = float(panel.events[comparison][:, periods].sum())
    return (int(worked.sum()), int(comparison.sum()), len(np.unique(panel.family[worked])),
            len(np.unique(panel.family[comparison])), events_p, events_c)


def _warnings(caught: list[warnings.WarningMessage], measure: str) -> list[str]:
    """diff-diff's warnings as notes: the first sentence of each kind once (one per
    cohort or cell would bury the rest), at most MAX_WARNINGS of them."""
    kinds: dict[str, str] = {}
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, FutureWarning)):
            continue  # about diff-diff's own API, not the data
        text = str(w.message)
        if measure == "mean_share" and text.startswith("Unbalanced panel"):
            continue  # expected, and described in person_periods
        sentence = text.split(". ")[0].strip().rstrip(".")[:160]
        kinds.setdefault(re.sub(r"\d+(\.\d+)?", "#", sentence), sentence)
    notes = [f"diff-diff: {sentence}" for sentence in list(kinds.values())[:MAX_WARNINGS]]
    if len(kinds) > MAX_WARNINGS:
        notes.append(f"diff-diff: {len(kinds) - MAX_WARNINGS} more kinds of warning")
    return notes


def _missing(window: tuple[int, int], panel: Panel | None, note: str,
             counts: tuple[int, int, int, int, float, float] | None = None) -> StaggeredEffect:
    if counts is None:
        assert panel is not None
        n_p, n_c = int((panel.first_treat > 0).sum()), int((panel.programme == 0).sum())
        f_p = len(np.unique(panel.family[panel.first_treat > 0]))
        f_c = len(np.unique(panel.family[panel.programme == 0]))
    else:
        n_p, n_c, f_p, f_c = counts[:4]
    return StaggeredEffect(
        window_from_month=window[0], window_to_month=window[1], estimate=None, ci_low=None,
        ci_high=None, att=None, att_se=None, programme_rate=None, comparison_rate=None,
        n_programme=n_p, n_comparison=n_c, families_programme=f_p, families_comparison=f_c,
        note=note,
    )


def _with_pseudonym_column(persons: pd.DataFrame) -> pd.DataFrame:
    # The frame module keeps the pseudonym as the index; accept either.
    if "pseudonym" in persons.columns:
        return persons.reset_index(drop=True)
    return persons.rename_axis("pseudonym").reset_index()


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)
