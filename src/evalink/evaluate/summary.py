"""The effect table as `evalink evaluate` and `evalink demo` print it: one line per
outcome and window, the primary estimate with its interval, and beside it the crude
comparison and the staggered-entry estimator (effects.csv holds every detail)."""

from __future__ import annotations

from rich.table import Table

from evalink.evaluate.evaluation import EffectRow, Evaluation

PRIMARY = "propensity_weighting"


def effect_table(result: Evaluation, window: str | None = None) -> Table:
    """Every outcome in every window of the plan, or only in `window` ('1-24')."""
    by_method: dict[tuple[str, str, str], EffectRow] = {
        (row.outcome, row.window.label(), row.method): row for row in result.effects
    }
    table = Table("outcome", "months", "weighted ratio [95% CI]", "interval width",
                  "unadjusted", "staggered", "programme", "comparison", "balance",
                  title=None if window is None else f"effects, months {window} after the index date")
    for row in result.effects:
        if row.method != PRIMARY or (window is not None and row.window.label() != window):
            continue
        key = (row.outcome, row.window.label())
        table.add_row(
            row.outcome, row.window.label(), ratio(row, interval=True), width(row),
            ratio(by_method.get((*key, "unadjusted"))),
            ratio(by_method.get((*key, "callaway_santanna"))),
            _pct(row.programme_rate), _pct(row.comparison_rate),
            "ok" if row.balance_ok else "[red]SMD > bound[/red]",
        )
    return table


def benefit_lines(result: Evaluation, window: str | None = None) -> list[str]:
    """The fiscal benefit per £1 of every window (or one), over all outcomes."""
    return [
        f"fiscal benefit per £1, months {cost.window.label()}: {cost.fiscal_per_pound:.2f} "
        f"[{_num(cost.fiscal_per_pound_low)}, {_num(cost.fiscal_per_pound_high)}]"
        for cost in result.costs
        if cost.outcome == "all outcomes" and cost.fiscal_per_pound is not None
        and (window is None or cost.window.label() == window)
    ]


def ratio(row: EffectRow | None, *, interval: bool = False) -> str:
    if row is None or row.estimate is None:
        return "—"
    if not interval:
        return f"{row.estimate:.2f}"
    return f"{row.estimate:.2f} [{_num(row.ci_low)}, {_num(row.ci_high)}]"


def width(row: EffectRow) -> str:
    """How wide the interval is, as the ratio of its ends: 2.0 is a factor of two."""
    if row.ci_low is None or row.ci_high is None or row.ci_low <= 0:
        return "—"
    return f"×{row.ci_high / row.ci_low:.1f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"
