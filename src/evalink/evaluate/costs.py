"""Costs and benefits in the National Impact Study's form: what the programme cost per
family, what the events it avoided would have cost, and the benefit per £1 spent.

Events avoided in a window are (comparison rate − programme rate) × the programme
persons the outcome applies to, times the window's length in years for a rate per
person-year; each is valued at the plan's unit costs (fiscal, and economic where the
table gives it). A harmful effect (more events) counts against the programme. The
programme's cost is the families' keyworker cost: the middle of each family's released
band, or the plan's figure where the band was withheld. The benefit per £1 is the
value over the cost, with a 95% interval from the same bootstrap over families as the
effects (the cost resampled with them), so outcomes are summed replicate by replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalink.evaluate.plan import Measure, Plan, Window
from evalink.evaluate.weighting import Fit, WindowEffect

TOTAL = "all outcomes"


@dataclass(frozen=True)
class CostRow:
    outcome: str
    window: Window
    n_programme: int
    families_programme: int
    events_avoided: float | None
    events_avoided_low: float | None
    events_avoided_high: float | None
    fiscal_value: float | None
    economic_value: float | None
    programme_cost: float
    fiscal_per_pound: float | None
    fiscal_per_pound_low: float | None
    fiscal_per_pound_high: float | None
    economic_per_pound: float | None
    economic_per_pound_low: float | None
    economic_per_pound_high: float | None


def programme_cost(table: pd.DataFrame, plan: Plan, family_index: pd.Index,
                   draws: np.ndarray) -> tuple[float, np.ndarray, int]:
    """(the programme's cost, its bootstrap replicates, how many families)."""
    families = table.loc[table["programme"] == 1].groupby("family")["keyworker_cost"].first()
    cost = families.fillna(plan.costs.programme_cost_per_family)
    codes = family_index.get_indexer(cost.index)
    return float(cost.sum()), draws[:, codes] @ cost.to_numpy(), len(cost)


def _per_person(effect: WindowEffect, rates: np.ndarray) -> np.ndarray:
    """Events avoided per programme person from (programme, comparison) rate pairs."""
    avoided = rates[..., 1] - rates[..., 0]
    if effect.measure is Measure.EVENTS_PER_PERSON_YEAR:
        avoided = avoided * effect.window.months / 12
    return avoided


def _interval(values: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if len(values) < 20:
        return (None, None)
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return (float(low), float(high))


def costs(fits: list[Fit], plan: Plan, table: pd.DataFrame, family_index: pd.Index,
          draws: np.ndarray) -> list[CostRow]:
    """One row per costed outcome and window, and per window a row for all of them."""
    cost, cost_replicates, families = programme_cost(table, plan, family_index, draws)
    confidence = plan.estimators.confidence
    rows: list[CostRow] = []
    for window in plan.windows:
        fiscal_total = np.zeros(len(draws))
        economic_total = np.zeros(len(draws))
        point_fiscal = point_economic = 0.0
        n_total, estimated = 0, 0
        for fit in fits:
            outcome = fit.data.outcome
            if not outcome.unit_costs:
                continue
            effect = next(e for e in fit.effects if e.window == window)
            items = [plan.costs.unit_costs[i] for i in outcome.unit_costs]
            fiscal = sum(i.fiscal for i in items)
            economic = sum(i.economic if i.economic is not None else i.fiscal for i in items)
            n = effect.arms.n_programme
            if effect.estimate is None:
                rows.append(CostRow(fit.data.name, window, n, effect.arms.families_programme,
                                    None, None, None, None, None, cost,
                                    None, None, None, None, None, None))
                continue
            point = _per_person(effect, np.array([effect.arms.programme_rate,
                                                  effect.arms.comparison_rate])) * n
            replicates = np.nan_to_num(_per_person(effect, effect.replicates) * n)
            low, high = _interval(replicates, confidence)
            f_low, f_high = _interval(replicates * fiscal / cost_replicates, confidence)
            e_low, e_high = _interval(replicates * economic / cost_replicates, confidence)
            rows.append(CostRow(
                fit.data.name, window, n, effect.arms.families_programme,
                float(point), low, high, float(point * fiscal), float(point * economic), cost,
                float(point * fiscal / cost), f_low, f_high,
                float(point * economic / cost), e_low, e_high,
            ))
            fiscal_total += replicates * fiscal
            economic_total += replicates * economic
            point_fiscal += float(point * fiscal)
            point_economic += float(point * economic)
            n_total = max(n_total, n)
            estimated += 1
        if not estimated:  # nothing valued: no total, rather than a benefit of £0
            rows.append(CostRow(TOTAL, window, n_total, families, None, None, None, None, None,
                                cost, None, None, None, None, None, None))
            continue
        f_low, f_high = _interval(fiscal_total / cost_replicates, confidence)
        e_low, e_high = _interval(economic_total / cost_replicates, confidence)
        rows.append(CostRow(
            TOTAL, window, n_total, families, None, None, None, point_fiscal, point_economic,
            cost, point_fiscal / cost, f_low, f_high, point_economic / cost, e_low, e_high,
        ))
    return rows
