"""`evaluate`: the research node measures what the programme changed, under a
registered plan, from the research dataset as it holds it (read for the purpose
`evaluation`, audited) and nothing else.

For each outcome of the plan: its population, a propensity score and weights (the
primary estimator), balance before and after, the effect in every window with a
bootstrap interval, the Callaway & Sant'Anna estimator beside it where the plan asks,
the linkage sensitivity (only links of at least the plan's match probability; each
person weighted by their link's probability), and then the costs and benefits. The
tables go to the researcher's workspace `--out DIR` in the secure setting; nothing
there is public until it passes the release step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalink.errors import InputError
from evalink.evaluate.balance import Balance, balance, balanced
from evalink.evaluate.costs import CostRow, costs
from evalink.evaluate.frame import (
    OutcomeData,
    family_histories,
    outcome_data,
    persons,
    window_outcome,
)
from evalink.evaluate.plan import (
    REQUIRED_COLUMNS,
    Measure,
    Plan,
    RegisteredPlan,
    Window,
    check_columns,
)
from evalink.evaluate.registry import Registration, refuse_changed, register
from evalink.evaluate.weighting import Fit, WindowEffect, estimate, family_draws

if TYPE_CHECKING:
    from evalink.node import Node

PURPOSE = "evaluation"
# Months since the index date for the chart of rates in both arms: the dataset's own
# 6-month bands, two years either side.
RATE_BANDS = [Window(from_month=lo, to_month=lo + 5) for lo in range(-24, 25, 6) if lo != 0]


@dataclass(frozen=True)
class EffectRow:
    """One row of effects.csv."""

    outcome: str
    window: Window
    measure: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    programme_rate: float | None
    comparison_rate: float | None
    difference: float | None
    n_programme: int
    n_comparison: int
    families_programme: int
    families_comparison: int
    method: str
    balance_ok: bool
    agrees_with_primary: str = ""  # for a second estimator: do the intervals overlap?
    note: str = ""


@dataclass(frozen=True)
class LinkageRow:
    """One row of linkage_sensitivity.csv: an effect re-estimated on other links."""

    outcome: str
    window: Window
    links: str  # 'all', 'match probability >= 0.99', 'weighted by match probability'
    estimate: float | None
    n_programme: int
    n_comparison: int
    families_programme: int
    families_comparison: int
    log_ratio_moved: float | None  # log(estimate) − log(all links' estimate)
    moved_share_of_interval: float | None  # |moved| over the width of the log interval


@dataclass(frozen=True)
class RateRow:
    outcome: str
    arm: str  # 'programme' or 'comparison (weighted)'
    from_month: int
    to_month: int
    rate: float | None
    persons: int


@dataclass
class Evaluation:
    plan: RegisteredPlan
    registrations: list[Registration]
    newly_registered: bool
    project: str
    persons: int
    families: int
    effects: list[EffectRow] = field(default_factory=list)
    balance: list[Balance] = field(default_factory=list)
    linkage: list[LinkageRow] = field(default_factory=list)
    costs: list[CostRow] = field(default_factory=list)
    rates: list[RateRow] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


Progress = Callable[[str], None]


def dataset_project(node: Node, registered: RegisteredPlan) -> str:
    """The project whose dataset the node holds; a plan naming another is refused."""
    plan = registered.plan
    if not node.parts(plan.dataset):
        raise InputError(
            f"{registered.source}: dataset: node '{node.party}' holds no '{plan.dataset}'"
        )
    project = str(node.package_notes(plan.dataset).get("project", ""))
    if plan.project is not None and project != plan.project:
        raise InputError(
            f"{registered.source}: project: the plan is for '{plan.project}', and node "
            f"'{node.party}' holds the dataset of project '{project}'"
        )
    return project


def read_dataset(node: Node, registered: RegisteredPlan) -> pd.DataFrame:
    """The research dataset the plan names, read for the purpose `evaluation`, once
    the plan's columns are checked against it."""
    dataset = node.read_dataset(registered.plan.dataset, purpose=PURPOSE).to_pandas()
    sources = set(dataset["source"].dropna().astype(str)) if "source" in dataset else set()
    check_columns(registered, set(dataset.columns), sources)
    return dataset


def evaluate(node: Node, registered: RegisteredPlan,
             progress: Progress | None = None) -> Evaluation:
    """Register the plan (or check it is the one registered), then estimate everything
    it asks for. Writes nothing but the registration; `write_outputs` writes the tables."""
    say = progress or (lambda _: None)
    project = dataset_project(node, registered)
    refuse_changed(node, registered, project)  # before anything is read
    dataset = read_dataset(node, registered)
    registrations, new = register(node, registered, project)
    plan = registered.plan
    people = persons(dataset)
    table = people.table
    family_index = pd.Index(sorted(table["family"].unique()))
    result = Evaluation(
        plan=registered, registrations=registrations, newly_registered=new, project=project,
        persons=len(table), families=len(family_index),
    )
    draws = family_draws(family_index, plan.estimators.bootstrap, plan.estimators.seed)
    families = family_histories(people, plan)
    fits = []
    for name in plan.outcomes:
        say(f"outcome {name}")
        data = outcome_data(people, plan, name, families)
        fit = estimate(data, plan.windows, draws=draws, family_index=family_index,
                       trim=plan.estimators.primary.trim, confidence=plan.estimators.confidence,
                       estimand=plan.estimators.primary.weights)
        fits.append(fit)
        rows = balance(fit)
        result.balance += rows
        ok = balanced(rows, plan.estimators.max_smd)
        primary = [_effect_row(e, ok) for e in fit.effects]
        result.effects += primary
        result.effects += [_effect_row(e, ok) for e in fit.unadjusted]
        if plan.estimators.staggered is not None:
            result.effects += _staggered(data, plan, primary, ok)
        result.linkage += _linkage(data, fit, plan, family_index, draws)
        result.rates += _rates(data, fit)
    say("costs and benefits")
    result.costs = costs(fits, plan, table, family_index, draws)
    return result


def _effect_row(effect: WindowEffect, ok: bool) -> EffectRow:
    arms = effect.arms
    return EffectRow(
        outcome=effect.outcome, window=effect.window, measure=effect.measure.ratio_name,
        estimate=effect.estimate, ci_low=effect.ci_low, ci_high=effect.ci_high,
        programme_rate=_finite(arms.programme_rate), comparison_rate=_finite(arms.comparison_rate),
        difference=effect.difference, n_programme=arms.n_programme,
        n_comparison=arms.n_comparison, families_programme=arms.families_programme,
        families_comparison=arms.families_comparison, method=effect.method, balance_ok=ok,
        note=effect.note,
    )


def _staggered(data: OutcomeData, plan: Plan, primary: list[EffectRow], ok: bool) -> list[EffectRow]:
    from evalink.evaluate.staggered import callaway_santanna

    staggered = plan.estimators.staggered
    assert staggered is not None
    people = data.persons.reset_index(names="pseudonym")
    known = people["index_month"].notna()
    effects = callaway_santanna(
        people.loc[known], data.events[data.events["pseudonym"].isin(people.loc[known, "pseudonym"])],
        covariates=data.covariates, measure=data.outcome.measure.value,
        windows=[(w.from_month, w.to_month) for w in plan.windows],
        period_months=staggered.period_months, seed=plan.estimators.seed,
    )
    rows = []
    for effect, first in zip(effects, primary, strict=True):
        rows.append(EffectRow(
            outcome=data.name, window=first.window, measure=first.measure,
            estimate=effect.estimate, ci_low=effect.ci_low, ci_high=effect.ci_high,
            programme_rate=effect.programme_rate, comparison_rate=effect.comparison_rate,
            difference=None if effect.att is None else effect.att,
            n_programme=effect.n_programme, n_comparison=effect.n_comparison,
            families_programme=effect.families_programme,
            families_comparison=effect.families_comparison,
            method=staggered.method.value, balance_ok=ok,
            agrees_with_primary=_agreement(first, effect.ci_low, effect.ci_high),
            note=effect.note,
        ))
    return rows


def _agreement(first: EffectRow, low: float | None, high: float | None) -> str:
    """'yes' when the two estimators' intervals overlap, 'no' when they do not."""
    if None in (first.ci_low, first.ci_high, low, high):
        return ""
    return "yes" if low <= first.ci_high and first.ci_low <= high else "no"  # type: ignore[operator]


def _linkage(data: OutcomeData, fit: Fit, plan: Plan, family_index: pd.Index,
             draws: np.ndarray) -> list[LinkageRow]:
    """Each effect again on surer links: point estimates, compared with all links'."""
    threshold = plan.linkage_sensitivity.min_match_probability
    probability = data.match_probability.to_numpy()
    # A person the department did not find has no link to doubt: they stay, weighing 1.
    unlinked = np.isnan(probability)
    sure = unlinked | (probability >= threshold)
    variants = {
        f"match probability >= {threshold:g}": (sure, None),
        "weighted by match probability": (np.ones(len(probability), bool), np.where(unlinked, 1.0, probability)),
    }
    rows = [_linkage_row(e, "all", e) for e in fit.effects]
    none = draws[:0]
    for links, (keep, weights) in variants.items():
        subset = _subset(data, keep)
        refit = estimate(subset, plan.windows, draws=none, family_index=family_index,
                         trim=plan.estimators.primary.trim, confidence=plan.estimators.confidence,
                         weights=None if weights is None else weights[keep],
                         estimand=plan.estimators.primary.weights)
        rows += [_linkage_row(e, links, base) for e, base in zip(refit.effects, fit.effects, strict=True)]
    return rows


def _subset(data: OutcomeData, keep: np.ndarray) -> OutcomeData:
    return OutcomeData(
        name=data.name, outcome=data.outcome, persons=data.persons[keep],
        covariates=data.covariates, y=data.y[keep], base=data.base[keep],
        match_probability=data.match_probability[keep],
        events=data.events[data.events["pseudonym"].isin(data.persons.index[keep])],
    )


def _linkage_row(effect: WindowEffect, links: str, base: WindowEffect) -> LinkageRow:
    arms = effect.arms
    moved = share = None
    if effect.estimate and base.estimate:
        moved = float(np.log(effect.estimate) - np.log(base.estimate))
        if base.ci_low and base.ci_high and base.ci_high > base.ci_low:
            share = abs(moved) / float(np.log(base.ci_high) - np.log(base.ci_low))
    return LinkageRow(
        outcome=effect.outcome, window=effect.window, links=links, estimate=effect.estimate,
        n_programme=arms.n_programme, n_comparison=arms.n_comparison,
        families_programme=arms.families_programme, families_comparison=arms.families_comparison,
        log_ratio_moved=moved, moved_share_of_interval=share,
    )


def _rates(data: OutcomeData, fit: Fit) -> list[RateRow]:
    """The outcome's rate by months since the index date in both arms, weighted as for
    the effects (under odds weights a programme person weighs 1), before and after:
    what the chart draws."""
    programme = data.persons["programme"].to_numpy() == 1
    measure = data.outcome.measure
    rows = []
    for band in RATE_BANDS:
        y, _ = window_outcome(data.events, data.persons.index, band,
                              measure if measure is Measure.MEAN_SHARE else Measure.ANY_EVENT)
        values = y.to_numpy()
        for arm, chosen in (("programme", programme), ("comparison (weighted)", ~programme)):
            measured = chosen & ~np.isnan(values)
            rate = None
            if measured.any():
                rate = float(np.average(values[measured], weights=fit.weight[measured]))
            rows.append(RateRow(data.name, arm, band.from_month, band.to_month, rate, int(measured.sum())))
    return rows


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


__all__ = ["PURPOSE", "REQUIRED_COLUMNS", "EffectRow", "Evaluation", "LinkageRow", "evaluate", "read_dataset"]
