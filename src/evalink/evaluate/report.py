"""The evaluation's report: one static page in the researcher's workspace, drawn from
the same tables `write_outputs` writes as CSV (so a figure on the page is a cell of a
file beside it) and from the registered plan.

It is the workspace copy inside the secure setting. Nothing on it is public until the
tables it shows pass the release step's disclosure checks; the page says so at the top.

Charts are Altair's, rendered to SVG as the page is written (vl-convert, offline), so
the page holds no script and loads nothing: it can be opened on a machine with no
network, which is what a secure setting is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
from jinja2 import Environment, PackageLoader

from evalink.evaluate.costs import TOTAL
from evalink.evaluate.evaluation import Evaluation
from evalink.evaluate.plan import Measure, Plan
from evalink.files import write_text_atomic

PRIMARY_LINKS = "all"
METHOD_NAMES = {
    "propensity_weighting": "propensity-score weighting",
    "propensity_matching": "propensity-score matching",
    "callaway_santanna": "Callaway & Sant'Anna",
}
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}
NOT_ESTIMATED = "not estimated"
SHORT_FLAG_COVARIATES = 3
# An inline <svg> needs no namespace declarations: the HTML parser puts it in the SVG
# namespace itself. Dropping them leaves the page with no http address at all, so
# "it loads nothing" can be checked by looking for one.
SVG_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="http://www\.w3\.org/[^"]*"')


@dataclass(frozen=True)
class Flag:
    """An outcome whose weighted comparison arm does not look like the programme arm."""

    outcome: str
    label: str
    covariates: tuple[str, ...]
    bound: float

    @property
    def text(self) -> str:
        where = f" on {', '.join(self.covariates)}" if self.covariates else ""
        return f"balance not achieved: adjusted SMD above {self.bound:g}{where}"

    @property
    def short(self) -> str:
        """For a table cell repeated on every window: a long list of covariates is given
        once, in the list above the forest plot."""
        if len(self.covariates) <= SHORT_FLAG_COVARIATES:
            return self.text
        return (f"balance not achieved: adjusted SMD above {self.bound:g} on "
                f"{len(self.covariates)} covariates (listed above the chart)")


def render_report(result: Evaluation, frames: dict[str, pd.DataFrame], out: Path) -> Path:
    """Write report.html to `out` (atomically) from `frames` (`outputs.tables(result)`)
    and the result's plan, registrations and counts; return its path."""
    plan = result.plan.plan
    labels = {name: outcome.label for name, outcome in plan.outcomes.items()}
    order = list(plan.outcomes)
    effects = frames["effects.csv"]
    balance = frames["balance.csv"]
    bound = plan.estimators.max_smd
    flags = _flags(effects, balance, bound, labels)
    linkage_variants, linkage_rows = _linkage_rows(frames["linkage_sensitivity.csv"], labels)
    sign = CURRENCY_SIGNS.get(plan.costs.currency, f"{plan.costs.currency} ")
    outcome_costs, total_costs = _cost_rows(frames["costs.csv"], labels, sign)
    context = {
        "title": plan.title,
        "project": result.project,
        "plan": plan,
        "source": result.plan.source,
        "sha256": result.plan.sha256,
        "persons": f"{result.persons:,}",
        "families": f"{result.families:,}",
        "registrations": [
            {"version": r.version, "sha256": r.sha256, "registered": r.registered,
             "seq": r.seq, "in_use": r.sha256 == result.plan.sha256 and r.version == plan.version}
            for r in result.registrations
        ],
        "newly_registered": result.newly_registered,
        "flags": flags,
        "estimators": [_method(plan.estimators.primary.method.value) + " (primary)"] + (
            [_method(plan.estimators.staggered.method.value)] if plan.estimators.staggered else []
        ),
        "forest": _svg(_forest(effects, labels, order, plan, flags)),
        "not_estimated": _not_estimated(effects, labels),
        "effects": _effect_rows(effects, labels, plan, flags),
        "love": _svg(_love(balance, labels, order, bound, flags)),
        "balance_summary": _balance_summary(balance, labels, order, bound),
        "infinite_smd": _infinite_smd(balance, labels),
        "rates": _svg(_rates_chart(frames["rates.csv"], labels, order)),
        "linkage_variants": linkage_variants,
        "linkage": linkage_rows,
        "min_match_probability": f"{plan.linkage_sensitivity.min_match_probability:g}",
        "outcome_costs": outcome_costs,
        "total_costs": total_costs,
        "unit_costs": _unit_costs(plan, sign),
        "sign": sign,
        "plan_text": result.plan.text,
    }
    # Escape everything: the template's name ends in .j2, which select_autoescape's
    # default would leave unescaped, and notes and labels come from data and the plan.
    env = Environment(loader=PackageLoader("evalink.evaluate", "templates"), autoescape=True)
    html = env.get_template("report.html.j2").render(**context)
    out = Path(out)
    write_text_atomic(out, html)
    return out


# Values as the frames hold them: a missing number is None or NaN, whichever pandas chose.

def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if _number(value) is None else str(value)


def _ratio(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:.2f}"


def _estimate(estimate: Any, low: Any, high: Any) -> str:
    if _number(estimate) is None:
        return NOT_ESTIMATED
    if _number(low) is None or _number(high) is None:
        return f"{_ratio(estimate)} [no interval]"
    return f"{_ratio(estimate)} [{_ratio(low)}, {_ratio(high)}]"


def _share(value: float, suffix: str = "%") -> str:
    # A rare event's rate is well under 1%: two decimals there, or it reads as 0.0%.
    percent = 100 * value
    return f"{percent:.1f}{suffix}" if abs(percent) >= 1 else f"{percent:.2f}{suffix}"


def _rate(value: Any, measure: Measure | None) -> str:
    number = _number(value)
    if number is None:
        return "–"
    if measure is Measure.EVENTS_PER_PERSON_YEAR:
        return f"{number:.3f} a person-year"
    return _share(number)


def _difference(value: Any, measure: Measure | None) -> str:
    number = _number(value)
    if number is None:
        return "–"
    if measure is Measure.EVENTS_PER_PERSON_YEAR:
        return f"{number:+.3f} a person-year"
    sign = "+" if number > 0 else ""
    return sign + _share(number, " pts")


def _count(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{int(number):,}"


def _money(value: Any, sign: str) -> str:
    number = _number(value)
    if number is None:
        return "–"
    return f"-{sign}{-number:,.0f}" if number < 0 else f"{sign}{number:,.0f}"


def _per_pound(value: Any, low: Any, high: Any) -> str:
    if _number(value) is None:
        return "–"
    if _number(low) is None or _number(high) is None:
        return f"{_ratio(value)} [no interval]"
    return f"{_ratio(value)} [{_ratio(low)}, {_ratio(high)}]"


def _window(row: Any) -> str:
    return f"{int(row.window_from_month)}–{int(row.window_to_month)}"


def _method(name: Any) -> str:
    return METHOD_NAMES.get(str(name), str(name))


def _label(labels: dict[str, str], outcome: Any) -> str:
    return labels.get(str(outcome), str(outcome))


def _windows(plan: Plan) -> list[str]:
    return [f"{w.from_month}–{w.to_month}" for w in plan.windows]


def _panels(order: list[str], labels: dict[str, str], flags: dict[str, Flag], *,
            first: bool = False) -> dict[str, str]:
    """Each outcome's chart panel title: its label, marked where balance failed, so the
    mark is on the chart itself and not only in the text beside it. `first` puts the
    mark before the label, for a narrow panel whose title is cut short."""
    panels = {}
    for name in order:
        label = labels.get(name, name)
        if name in flags:
            mark = "balance not achieved"
            label = f"({mark}) {label}" if first else f"{label} — {mark}"
        panels[name] = label
    return panels


def _flags(effects: pd.DataFrame, balance: pd.DataFrame, bound: float,
           labels: dict[str, str]) -> dict[str, Flag]:
    """The outcomes whose balance failed, by either table's account, with the covariates
    over the bound: the estimator's verdict is on every effect row, the covariates
    that earned it are in balance.csv."""
    failed: list[str] = []
    if len(effects):
        failed += [str(o) for o in effects.loc[~effects["balance_ok"].astype(bool), "outcome"]]
    over = pd.DataFrame(columns=["outcome", "covariate"])
    if len(balance):
        over = balance.loc[balance["smd_after"].abs() > bound, ["outcome", "covariate"]]
        failed += [str(o) for o in over["outcome"]]
    flags = {}
    for outcome in dict.fromkeys(failed):
        covariates = tuple(str(c) for c in over.loc[over["outcome"] == outcome, "covariate"])
        flags[outcome] = Flag(outcome, _label(labels, outcome), covariates, bound)
    return flags


def _forest(effects: pd.DataFrame, labels: dict[str, str], order: list[str], plan: Plan,
            flags: dict[str, Flag]) -> alt.FacetChart | None:
    """Each outcome a panel: per window, each estimator's ratio and interval on a log
    scale, with a rule at 1 (no effect)."""
    if not len(effects):
        return None
    shown = effects[[_number(v) is not None and v > 0 for v in effects["estimate"]]]
    if not len(shown):
        return None
    panels = _panels(order + sorted(set(map(str, shown["outcome"])) - set(order)), labels, flags)
    data = pd.DataFrame({
        "panel": [panels[str(o)] for o in shown["outcome"]],
        "window": [_window(row) for row in shown.itertuples()],
        "method": [_method(m) for m in shown["method"]],
        "estimate": [_number(v) for v in shown["estimate"]],
        # A log scale has no place for a bound at or below 0: that interval is not drawn.
        "ci_low": [v if (v := _number(x)) and v > 0 else None for x in shown["ci_low"]],
        "ci_high": [v if (v := _number(x)) and v > 0 else None for x in shown["ci_high"]],
    })
    windows = _windows(plan)
    windows += sorted(set(data["window"]) - set(windows))
    y = alt.Y("window:N", sort=windows, title="months since the index date")
    # The primary estimator first, in the same colour and shape on every page.
    methods = [_method(plan.estimators.primary.method.value)]
    if plan.estimators.staggered is not None:
        methods.append(_method(plan.estimators.staggered.method.value))
    methods += sorted(set(data["method"]) - set(methods))
    legend = alt.Legend(orient="top", title="estimator")
    method = alt.Color("method:N", scale=alt.Scale(domain=methods), legend=legend)
    shape = alt.Shape("method:N", scale=alt.Scale(domain=methods), legend=legend)
    base = alt.Chart()
    interval = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", scale=alt.Scale(type="log"),
                title="ratio, programme over comparison (log scale)"),
        x2="ci_high:Q", y=y, yOffset=alt.YOffset("method:N", sort=methods), color=method,
    )
    point = base.mark_point(filled=True, size=50).encode(
        x="estimate:Q", y=y, yOffset=alt.YOffset("method:N", sort=methods), color=method,
        shape=shape,
    )
    no_effect = base.mark_rule(strokeDash=[4, 4], color="#555").encode(x=alt.datum(1))
    return (
        alt.layer(interval, point, no_effect, data=data)
        .properties(width=560, height=alt.Step(12))
        .facet(facet=alt.Facet("panel:N", sort=[panels[o] for o in panels], title=None,
                               header=alt.Header(labelAnchor="start", labelFontWeight="bold",
                                                 labelFontSize=12)),
               columns=1)
    )


def _not_estimated(effects: pd.DataFrame, labels: dict[str, str]) -> list[dict[str, str]]:
    if not len(effects):
        return []
    missing = effects[[_number(v) is None for v in effects["estimate"]]]
    return [
        {"outcome": _label(labels, row.outcome), "window": _window(row),
         "method": _method(row.method), "note": _text(row.note) or "no reason recorded"}
        for row in missing.itertuples()
    ]


def _effect_rows(effects: pd.DataFrame, labels: dict[str, str], plan: Plan,
                 flags: dict[str, Flag]) -> list[dict[str, Any]]:
    rows = []
    for row in effects.itertuples():
        outcome = plan.outcomes.get(str(row.outcome))
        measure = outcome.measure if outcome else None
        flag = flags.get(str(row.outcome))
        rows.append({
            "outcome": _label(labels, row.outcome),
            "name": str(row.outcome),
            "window": _window(row),
            "method": _method(row.method),
            "estimate": _estimate(row.estimate, row.ci_low, row.ci_high),
            "programme_rate": _rate(row.programme_rate, measure),
            "comparison_rate": _rate(row.comparison_rate, measure),
            "difference": _difference(row.difference, measure),
            "programme": f"{_count(row.n_programme)} ({_count(row.families_programme)})",
            "comparison": f"{_count(row.n_comparison)} ({_count(row.families_comparison)})",
            "balance": "no" if flag or not bool(row.balance_ok) else "yes",
            "flag": flag.short if flag else "",
            "agreement": _text(row.agrees_with_primary),
            "note": _text(row.note),
        })
    return rows


def _love(balance: pd.DataFrame, labels: dict[str, str], order: list[str], bound: float,
          flags: dict[str, Flag]) -> alt.FacetChart | None:
    """|SMD| of every covariate before and after weighting, a panel per outcome (two
    across, each its own covariates), with a rule at the plan's bound."""
    if not len(balance):
        return None
    panels = _panels(order + sorted(set(map(str, balance["outcome"])) - set(order)), labels, flags,
                     first=True)
    data = pd.DataFrame({
        "panel": [panels[str(o)] for o in balance["outcome"]],
        "covariate": balance["covariate"].astype(str),
        "before weighting": [_finite_abs(v) for v in balance["smd_before"]],
        "after weighting": [_finite_abs(v) for v in balance["smd_after"]],
    })
    y = alt.Y("covariate:N", title=None,
              sort=alt.EncodingSortField("before weighting", order="descending"))
    when = ["before weighting", "after weighting"]
    legend = alt.Legend(orient="top", title=None)
    base = alt.Chart()
    moved = base.mark_rule(color="#bbb").encode(x="before weighting:Q", x2="after weighting:Q", y=y)
    points = base.transform_fold(when, as_=["when", "smd"]).mark_point(
        filled=True, size=35,
    ).encode(
        x=alt.X("smd:Q", title="|standardised mean difference|"), y=y,
        color=alt.Color("when:N", scale=alt.Scale(domain=when), legend=legend),
        shape=alt.Shape("when:N", scale=alt.Scale(domain=when), legend=legend),
    )
    limit = base.mark_rule(strokeDash=[4, 4], color="#b00").encode(x=alt.datum(bound))
    return (
        alt.layer(moved, points, limit, data=data)
        .properties(width=220, height=alt.Step(11))
        .facet(facet=alt.Facet("panel:N", sort=[panels[o] for o in panels], title=None,
                               header=alt.Header(labelAnchor="start", labelFontWeight="bold",
                                                 labelLimit=300)),
               columns=2)
        .resolve_scale(y="independent")
    )


def _finite_abs(value: Any) -> float | None:
    # An infinite SMD (no spread in either arm) cannot be drawn; it is listed instead.
    number = _number(value)
    return abs(number) if number is not None and math.isfinite(number) else None


def _balance_summary(balance: pd.DataFrame, labels: dict[str, str], order: list[str],
                     bound: float) -> list[dict[str, str]]:
    if not len(balance):
        return []
    rows = []
    names = order + sorted(set(map(str, balance["outcome"])) - set(order))
    for name in names:
        part = balance[balance["outcome"].astype(str) == name]
        if not len(part):
            continue
        after = part["smd_after"].abs()
        rows.append({
            "outcome": _label(labels, name),
            "covariates": f"{len(part):,}",
            "before": f"{part['smd_before'].abs().max():.3f}",
            "after": f"{after.max():.3f}",
            "over": f"{int((after > bound).sum()):,}",
        })
    return rows


def _infinite_smd(balance: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    if not len(balance):
        return []
    return [
        f"{_label(labels, row.outcome)}: {row.covariate}"
        for row in balance.itertuples()
        if not (math.isfinite(row.smd_before) and math.isfinite(row.smd_after))
    ]


def _rates_chart(rates: pd.DataFrame, labels: dict[str, str],
                 order: list[str]) -> alt.FacetChart | None:
    """The outcome's rate in each 6-month band around the index date, both arms, a
    panel per outcome with its own scale (rates differ a hundredfold between outcomes)."""
    if not len(rates):
        return None
    names = order + sorted(set(map(str, rates["outcome"])) - set(order))
    data = pd.DataFrame({
        "outcome": [_label(labels, o) for o in rates["outcome"]],
        "arm": rates["arm"].astype(str),
        "month": (rates["from_month"] + rates["to_month"]) / 2,
        "rate": [_number(v) for v in rates["rate"]],
    })
    base = alt.Chart()
    lines = base.mark_line(point=True).encode(
        x=alt.X("month:Q", title="months since the index date (band midpoint)"),
        y=alt.Y("rate:Q", title="rate in the band", axis=alt.Axis(format=".1%")),
        color=alt.Color("arm:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["programme", "comparison (weighted)"])),
    )
    index = base.mark_rule(strokeDash=[4, 4], color="#555").encode(x=alt.datum(0))
    return (
        alt.layer(lines, index, data=data)
        .properties(width=300, height=150)
        .facet(facet=alt.Facet("outcome:N", sort=[_label(labels, n) for n in names], title=None,
                               header=alt.Header(labelAnchor="start", labelFontWeight="bold",
                                                 labelLimit=340)),
               columns=2)
        .resolve_scale(y="independent")
    )


def _linkage_rows(linkage: pd.DataFrame,
                  labels: dict[str, str]) -> tuple[list[str], list[dict[str, Any]]]:
    """One row per outcome and window: all links' estimate, then each other choice of
    links beside it with how far it moved the estimate."""
    if not len(linkage):
        return [], []
    variants = [str(v) for v in dict.fromkeys(linkage["links"]) if v != PRIMARY_LINKS]
    rows: dict[tuple[str, int, int], dict[str, Any]] = {}
    for row in linkage.itertuples():
        key = (str(row.outcome), int(row.window_from_month), int(row.window_to_month))
        shown = rows.setdefault(key, {
            "outcome": _label(labels, row.outcome), "window": _window(row),
            "all": NOT_ESTIMATED, "persons": "–", "variants": {},
        })
        persons = f"{_count(row.n_programme)} / {_count(row.n_comparison)}"
        estimate = _ratio(row.estimate) if _number(row.estimate) is not None else NOT_ESTIMATED
        if row.links == PRIMARY_LINKS:
            shown["all"], shown["persons"] = estimate, persons
            continue
        moved = _number(row.log_ratio_moved)
        share = _number(row.moved_share_of_interval)
        shown["variants"][str(row.links)] = {
            "estimate": estimate,
            "persons": persons,
            "moved": "–" if moved is None else f"{moved:+.3f}",
            "share": "–" if share is None else f"{100 * share:.0f}%",
        }
    empty = {"estimate": "–", "persons": "–", "moved": "–", "share": "–"}
    table = []
    for shown in rows.values():
        shown["cells"] = [shown["variants"].get(v, empty) for v in variants]
        table.append(shown)
    return variants, table


def _cost_rows(costs: pd.DataFrame, labels: dict[str, str],
               sign: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(each costed outcome's rows, the rows for all outcomes together)."""
    if not len(costs):
        return [], []
    outcomes, totals = [], []
    for row in costs.itertuples():
        if row.outcome == TOTAL:
            totals.append({
                "window": _window(row),
                "families": _count(row.families_programme),
                "fiscal": _money(row.fiscal_value, sign),
                "economic": _money(row.economic_value, sign),
                "cost": _money(row.programme_cost, sign),
                "fiscal_per_pound": _per_pound(row.fiscal_per_pound, row.fiscal_per_pound_low,
                                               row.fiscal_per_pound_high),
                "economic_per_pound": _per_pound(row.economic_per_pound,
                                                 row.economic_per_pound_low,
                                                 row.economic_per_pound_high),
            })
            continue
        avoided = _number(row.events_avoided)
        low, high = _number(row.events_avoided_low), _number(row.events_avoided_high)
        if avoided is None:
            shown = NOT_ESTIMATED
        elif low is None or high is None:
            shown = f"{avoided:,.1f} [no interval]"
        else:
            shown = f"{avoided:,.1f} [{low:,.1f}, {high:,.1f}]"
        outcomes.append({
            "outcome": _label(labels, row.outcome),
            "window": _window(row),
            "persons": _count(row.n_programme),
            "avoided": shown,
            "fiscal": _money(row.fiscal_value, sign),
            "economic": _money(row.economic_value, sign),
            "fiscal_per_pound": _per_pound(row.fiscal_per_pound, row.fiscal_per_pound_low,
                                           row.fiscal_per_pound_high),
        })
    return outcomes, totals


def _unit_costs(plan: Plan, sign: str) -> list[dict[str, str]]:
    used: dict[str, list[str]] = {}
    for outcome in plan.outcomes.values():
        for item in outcome.unit_costs:
            used.setdefault(item, []).append(outcome.label)
    return [
        {"item": name, "fiscal": _money(cost.fiscal, sign),
         "economic": _money(cost.economic, sign) if cost.economic is not None else "as fiscal",
         "unit": cost.unit, "note": cost.note, "outcomes": "; ".join(used.get(name, []))}
        for name, cost in plan.costs.unit_costs.items()
    ]


def _svg(chart: alt.TopLevelMixin | None) -> str:
    if chart is None:
        return ""
    import vl_convert

    return SVG_NAMESPACES.sub("", str(vl_convert.vegalite_to_svg(chart.to_dict())))
