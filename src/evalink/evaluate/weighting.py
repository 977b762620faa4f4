"""The primary estimator: propensity-score weighting for the effect on families worked
with, one score model per outcome, as the National Impact Study matched per outcome.

Each outcome's population gets its own score (the chance of being worked with, given
the baseline covariates and that outcome's own history), fitted by logistic regression.
A comparison person is weighted by the odds of their score, e/(1−e), so the comparison
arm stands for the programme arm's mix of need; programme persons weigh 1 (`att`). Or
both arms stand for the families in equipoise (`overlap`: 1 − e and e), which keeps a
stratum of great need that few waiting families share from resting on a handful of
comparison persons. Each arm's rate is its weighted mean outcome.

Intervals come from a bootstrap over families, refitting the score each time: it
carries both the clustering of outcomes in families and the uncertainty of the score
itself, which a sandwich formula on fixed weights would miss. The same family draws
serve every outcome, so the cost–benefit totals across outcomes have intervals too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from evalink.evaluate.frame import OutcomeData
from evalink.evaluate.plan import Measure, Weights, Window

METHOD = "propensity_weighting"
# The crude comparison, families worked with against all families waiting, shown beside
# the adjusted one so a reader sees how much the adjustment moved.
UNADJUSTED = "unadjusted"
# Fewer events than this in either arm and a window's ratio is not estimated: a ratio
# of a handful of events is noise with an interval that says so only if it is exact.
MIN_EVENTS = 5
# Bootstrap replicates fitted together: bounds the batched Hessians' memory
# (BATCH × covariates² floats) and the replicates × persons weight matrix.
BATCH = 50


@dataclass
class Arms:
    """A window's rates in the two arms, and who they were computed from."""

    programme_rate: float
    comparison_rate: float
    n_programme: int
    n_comparison: int
    families_programme: int
    families_comparison: int
    events_programme: float
    events_comparison: float


@dataclass
class WindowEffect:
    outcome: str
    window: Window
    measure: Measure
    method: str
    arms: Arms
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    difference: float | None
    difference_low: float | None = None
    difference_high: float | None = None
    note: str = ""
    # Bootstrap replicates of (programme rate, comparison rate), for the costs.
    replicates: np.ndarray = field(default_factory=lambda: np.empty((0, 2)), repr=False)


# The score's L2 penalty on each coefficient (not the intercept), as a ridge of this
# size on the log-likelihood: with tens of 0/1 covariates and a few hundred families a
# category seen only in one arm would otherwise send its coefficient to infinity.
PENALTY = 0.01
NEWTON_STEPS = 50
MAX_STEP = 2.0


def propensity(x: np.ndarray, programme: np.ndarray, frequency: np.ndarray,
               trim: float, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Logistic-regression scores for every row of `frequency` (replicates × persons:
    each replicate's case weights) at once, clipped to [trim, 1 − trim].

    Newton's method on all replicates together, rather than one library fit after
    another: the bootstrap refits the score hundreds of times per outcome, and a
    batched fit of a few dozen covariates costs a few matrix products per step where
    scikit-learn's per-fit overhead made a replicate 100 ms. Replicates start from
    `start` (the full sample's coefficients), a few steps from their own. Returns the
    scores and the coefficients."""
    frequency = np.atleast_2d(frequency)
    design = np.column_stack([np.ones(len(programme)), x])
    replicates, k = frequency.shape[0], design.shape[1]
    ridge = np.full(k, PENALTY)
    ridge[0] = 1e-8  # the intercept is not shrunk
    share = (frequency @ programme) / frequency.sum(axis=1)
    if start is not None:
        beta = np.tile(start, (replicates, 1))
    else:
        beta = np.zeros((replicates, k))
        beta[:, 0] = np.log(np.clip(share, 1e-6, 1 - 1e-6) / np.clip(1 - share, 1e-6, 1))
    for _ in range(NEWTON_STEPS):
        eta = np.clip(beta @ design.T, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        gradient = (frequency * (programme - p)) @ design - ridge * beta
        curvature = frequency * p * (1 - p)
        weighted = curvature[:, :, None] * design[None]  # replicates × persons × k
        hessian = np.matmul(weighted.transpose(0, 2, 1), design) + np.diag(ridge)
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        # A full Newton step from far away can overshoot into a region where the scores
        # are 0 or 1 and the curvature vanishes; a step at most this long cannot.
        length = np.abs(step).max(axis=1, keepdims=True)
        step = step * np.minimum(1.0, MAX_STEP / np.maximum(length, 1e-12))
        beta += step
        if np.abs(step).max() < 1e-6:
            break
    eta = np.clip(beta @ design.T, -30, 30)
    return np.clip(1 / (1 + np.exp(-eta)), trim, 1 - trim), beta


def att_weights(score: np.ndarray, programme: np.ndarray) -> np.ndarray:
    return np.where(programme == 1, 1.0, score / (1 - score))


def overlap_weights(score: np.ndarray, programme: np.ndarray) -> np.ndarray:
    return np.where(programme == 1, 1 - score, score)


WEIGHTS = {Weights.ATT: att_weights, Weights.OVERLAP: overlap_weights}


def family_draws(families: pd.Index, replicates: int, seed: int) -> np.ndarray:
    """replicates × families: how many times each family is drawn in each bootstrap
    sample (families with replacement, as many as there are)."""
    rng = np.random.default_rng(seed)
    n = len(families)
    # n draws with replacement, counted: a multinomial with equal chances.
    return rng.multinomial(n, np.full(n, 1 / n), size=replicates).astype(float)


def _rates(y: np.ndarray, programme: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    measured = ~np.isnan(y)
    treated, control = measured & (programme == 1), measured & (programme == 0)
    wt, wc = weight[treated], weight[control]
    if wt.sum() <= 0 or wc.sum() <= 0:
        return (np.nan, np.nan)
    return (float(np.average(y[treated], weights=wt)), float(np.average(y[control], weights=wc)))


def _batch_rates(y: np.ndarray, programme: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(programme, comparison) rates for each row of `weight` (replicates × persons)."""
    measured = ~np.isnan(y)
    values = np.nan_to_num(y)
    out = np.full((len(weight), 2), np.nan)
    for column, arm in ((0, programme == 1), (1, programme == 0)):
        chosen = measured & arm
        total = weight[:, chosen].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, column] = np.where(total > 0, weight[:, chosen] @ values[chosen] / total, np.nan)
    return out


def _ratio_interval(estimate: float, replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """A percentile interval of the log ratio, from the replicates that have one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(replicates[:, 0] / replicates[:, 1])
    logs = logs[np.isfinite(logs)]
    if len(logs) < 20:
        return (np.nan, np.nan)
    tail = (1 - confidence) / 2
    low, high = np.quantile(logs, [tail, 1 - tail])
    return (float(np.exp(low)), float(np.exp(high)))


def _arms(data: OutcomeData, label: str, weight: np.ndarray) -> Arms:
    y = data.y[label].to_numpy()
    programme = data.persons["programme"].to_numpy()
    measured = ~np.isnan(y)
    p, c = _rates(y, programme, weight)
    families = data.persons["family"]
    events = np.nan_to_num(y) if data.outcome.measure is not Measure.MEAN_SHARE else measured.astype(float)
    return Arms(
        programme_rate=p, comparison_rate=c,
        n_programme=int((measured & (programme == 1)).sum()),
        n_comparison=int((measured & (programme == 0)).sum()),
        families_programme=int(families[measured & (programme == 1)].nunique()),
        families_comparison=int(families[measured & (programme == 0)].nunique()),
        events_programme=float(events[programme == 1].sum()),
        events_comparison=float(events[programme == 0].sum()),
    )


@dataclass
class Fit:
    """One outcome's score and weights, and its effects by window."""

    data: OutcomeData
    score: np.ndarray
    weight: np.ndarray
    effects: list[WindowEffect]
    unadjusted: list[WindowEffect] = field(default_factory=list)


def estimate(data: OutcomeData, windows: list[Window], *, draws: np.ndarray,
             family_index: pd.Index, trim: float, confidence: float,
             weights: np.ndarray | None = None, estimand: Weights = Weights.ATT) -> Fit:
    """Effects of one outcome in every window. `draws` (replicates × all families) and
    `family_index` (their order) are shared by every outcome; `weights` multiply each
    person's (the linkage sensitivity weights persons by their link's probability)."""
    persons = data.persons
    x = persons[data.covariates].to_numpy(dtype=float)
    programme = persons["programme"].to_numpy()
    extra = np.ones(len(persons)) if weights is None else weights
    scores, beta = propensity(x, programme, extra, trim)
    score = scores[0]
    weigh = WEIGHTS[estimand]
    weight = weigh(score, programme) * extra
    codes = family_index.get_indexer(persons["family"])
    labels = [w.label() for w in windows]
    y = {label: data.y[label].to_numpy() for label in labels}
    replicates = {label: np.full((len(draws), 2), np.nan) for label in labels}
    crude = {label: np.full((len(draws), 2), np.nan) for label in labels}
    both_arms = len(np.unique(programme)) == 2
    if both_arms and len(draws):
        frequency = draws[:, codes] * extra  # replicates × persons
        # A replicate that drew no one of an arm has no score to fit.
        usable = ((frequency @ programme) > 0) & ((frequency @ (1 - programme)) > 0)
        for start in range(0, int(usable.sum()), BATCH):
            rows = np.flatnonzero(usable)[start:start + BATCH]
            scores, _ = propensity(x, programme, frequency[rows], trim, start=beta[0])
            weight_r = weigh(scores, programme) * frequency[rows]
            for label in labels:
                replicates[label][rows] = _batch_rates(y[label], programme, weight_r)
                crude[label][rows] = _batch_rates(y[label], programme, frequency[rows])
    effects, unadjusted = [], []
    for window, label in zip(windows, labels, strict=True):
        effects.append(_window_effect(data, window, label, weight, replicates[label], METHOD,
                                      both_arms, confidence))
        unadjusted.append(_window_effect(data, window, label, extra, crude[label], UNADJUSTED,
                                         both_arms, confidence))
    return Fit(data=data, score=score, weight=weight, effects=effects, unadjusted=unadjusted)


def _window_effect(data: OutcomeData, window: Window, label: str, weight: np.ndarray,
                   replicates: np.ndarray, method: str, both_arms: bool,
                   confidence: float) -> WindowEffect:
    arms = _arms(data, label, weight)
    effect = WindowEffect(
        outcome=data.name, window=window, measure=data.outcome.measure, method=method,
        arms=arms, estimate=None, ci_low=None, ci_high=None, difference=None,
        replicates=replicates,
    )
    few = data.outcome.measure is not Measure.MEAN_SHARE and min(
        arms.events_programme, arms.events_comparison) < MIN_EVENTS
    if not both_arms or arms.n_programme == 0 or arms.n_comparison == 0:
        effect.note = "one arm is empty"
    elif few:
        effect.note = f"fewer than {MIN_EVENTS} events in an arm"
    elif arms.comparison_rate > 0:
        effect.estimate = arms.programme_rate / arms.comparison_rate
        effect.difference = arms.programme_rate - arms.comparison_rate
        low, high = _ratio_interval(effect.estimate, replicates, confidence)
        effect.ci_low, effect.ci_high = _none(low), _none(high)
        differences = replicates[:, 0] - replicates[:, 1]
        differences = differences[np.isfinite(differences)]
        if len(differences) >= 20:
            z = norm.ppf(1 - (1 - confidence) / 2)
            spread = float(np.std(differences, ddof=1))
            effect.difference_low = effect.difference - z * spread
            effect.difference_high = effect.difference + z * spread
    return effect


def _none(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
