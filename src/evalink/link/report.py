"""The linkage quality report (`--report DIR`).

`index.html`: match rate, threshold, estimated precision and recall, and charts —
match weight distribution, the model's parameter estimates, waterfalls of example pairs
near the threshold, and estimated precision/recall against the threshold. The charts
carry weights and counts only, never a name or a date: the HTML can be shared with
people who may not see the records. The JavaScript that draws them (vega, shipped with
Splink) is inlined, so the report opens without a network.

`clerical_review.csv`: borderline pairs with both records side by side, for authorised
reviewers to confirm or reject — the one output here that holds personal data.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
from jinja2 import Environment, PackageLoader

from evalink.files import write_table, write_text_atomic
from evalink.link.threshold import precision_recall_curve

REVIEW_COLUMNS = ["forename_main", "surname_std", "dob", "sex", "postcode", "address_std", "nino"]
_REVIEW_PAIRS = 200
_WATERFALL_PAIRS = 6


def collect(
    result: Any,
    linker: Any,
    predictions: list[Any],
    left_std: pl.DataFrame,
    right_std: pl.DataFrame,
) -> None:
    """Gather what the report needs while the engine still holds the model."""
    result.model_json = linker.misc.save_model_to_json()
    result.review = _review_pairs(result, left_std, right_std)
    result.charts["waterfall"] = _waterfall(result, linker, predictions)


def _review_pairs(result: Any, left_std: pl.DataFrame, right_std: pl.DataFrame) -> pl.DataFrame:
    """The assigned pairs closest to the threshold, on both sides of it."""
    t = result.threshold.threshold
    near = (
        result.assigned.filter(~pl.col("deterministic") & (pl.col("match_probability") > 0.05))
        .with_columns((pl.col("match_probability") - t).abs().alias("_distance"))
        .sort(["_distance", "left_id", "right_id"])
        .head(_REVIEW_PAIRS)
        .with_columns((pl.col("match_probability") >= t).alias("linked"))
    )
    left = left_std.select("record_id", *REVIEW_COLUMNS).rename(
        {c: f"{c}_left" for c in REVIEW_COLUMNS}
    )
    right = right_std.select("record_id", *REVIEW_COLUMNS).rename(
        {c: f"{c}_right" for c in REVIEW_COLUMNS}
    )
    review = near.join(left, left_on="left_id", right_on="record_id").join(
        right, left_on="right_id", right_on="record_id"
    )
    ordered = ["left_id", "right_id", "match_probability", "match_weight", "linked"]
    for column in REVIEW_COLUMNS:
        ordered += [f"{column}_left", f"{column}_right"]
    return (
        review.select(ordered)
        .sort("match_probability", descending=True)
        .with_columns(pl.lit("").alias("reviewer_decision"))
    )


def _waterfall(result: Any, linker: Any, predictions: list[Any]) -> dict[str, Any] | None:
    """Waterfall charts of a few pairs around the threshold, weights only.

    `predictions`: the scored tables, one per chunk of the right side."""
    if result.review.height == 0:
        return None
    step = max(result.review.height // _WATERFALL_PAIRS, 1)
    examples = result.review[::step].head(_WATERFALL_PAIRS)
    conditions = " OR ".join(
        f"(record_id_l = '{_quote(a)}' AND record_id_r = '{_quote(b)}')"
        f" OR (record_id_l = '{_quote(b)}' AND record_id_r = '{_quote(a)}')"
        for a, b in zip(examples["left_id"], examples["right_id"], strict=True)
    )
    union = " UNION ALL ".join(
        f"SELECT * FROM {chunk.physical_name} WHERE {conditions}" for chunk in predictions
    )
    selected = linker.misc.query_sql(union, output_type="splink_df")
    records = selected.as_record_list()
    if not records:
        return None
    chart = linker.visualisations.waterfall_chart(records, remove_sensitive_data=True)
    return dict(chart.chart_dict)


def _quote(value: str) -> str:
    return str(value).replace("'", "''")


def _weights_chart(result: Any) -> dict[str, Any]:
    data = result.assigned.select("match_weight").to_pandas()
    chart = (
        alt.Chart(data, title="Match weight of each one-to-one candidate pair")
        .mark_bar()
        .encode(
            alt.X("match_weight:Q", bin=alt.Bin(maxbins=60), title="match weight (bits)"),
            alt.Y("count():Q", title="pairs"),
        )
        .properties(width=640, height=240)
    )
    threshold_weight = _weight(result.threshold.threshold)
    rule = alt.Chart({"values": [{"w": threshold_weight}]}).mark_rule(color="red").encode(x="w:Q")
    return (chart + rule).to_dict()


def _weight(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))


def _parameters_chart(model_json: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for comparison in model_json.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level") or not m or not u:
                continue
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level.get("label_for_charts", level.get("sql_condition", ""))[:60],
                    "m": m,
                    "u": u,
                    "weight": math.log2(m / u),
                }
            )
    data = (
        pl.DataFrame(rows).to_pandas()
        if rows
        else pl.DataFrame({"comparison": [], "level": [], "weight": []}).to_pandas()
    )
    return (
        alt.Chart(data, title="Parameter estimates: match weight of each comparison level")
        .mark_bar()
        .encode(
            alt.X("weight:Q", title="partial match weight log2(m/u)"),
            alt.Y("level:N", sort=None, title=None),
            alt.Row("comparison:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            alt.Color("weight:Q", scale=alt.Scale(scheme="redblue", domainMid=0), legend=None),
            tooltip=["comparison", "level", "m", "u", "weight"],
        )
        .properties(width=420)
        .resolve_scale(y="independent")
        .to_dict()
    )


def _precision_recall_chart(result: Any) -> dict[str, Any]:
    curve = precision_recall_curve(result.assigned)
    # One point per 0.5% of pairs is enough to draw the curve.
    every = max(curve.height // 200, 1)
    data = (
        curve[::every]
        .unpivot(
            index="threshold",
            on=["estimated_precision", "estimated_recall"],
            variable_name="measure",
        )
        .to_pandas()
    )
    lines = (
        alt.Chart(data, title="Estimated precision and recall against the threshold")
        .mark_line()
        .encode(
            alt.X(
                "threshold:Q", title="match probability threshold", scale=alt.Scale(domain=[0, 1])
            ),
            alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            alt.Color("measure:N"),
        )
        .properties(width=640, height=260)
    )
    rule = (
        alt.Chart({"values": [{"t": result.threshold.threshold}]})
        .mark_rule(color="red")
        .encode(x="t:Q")
    )
    return (lines + rule).to_dict()


def inline_vega_js() -> dict[str, str]:
    """The JavaScript that draws Vega-Lite charts, from the copy Splink ships, to inline
    in a page: a report opens without a network (no CDN)."""
    folder = resources.files("splink").joinpath("internals/files/external_js")
    return {
        name: folder.joinpath(file).read_text(encoding="utf-8")
        for name, file in (
            ("vega", "vega@5.31.0"),
            ("vega_lite", "vega-lite@5.2.0"),
            ("vega_embed", "vega-embed@6.20.2"),
        )
    }


def write_report(result: Any, directory: Path | str) -> Path:
    """Write `index.html` and `clerical_review.csv` into `directory`; return the HTML path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    charts = {
        "weights": _weights_chart(result),
        "parameters": _parameters_chart(result.model_json),
        "precision_recall": _precision_recall_chart(result),
    }
    if result.charts.get("waterfall"):
        charts["waterfall"] = result.charts["waterfall"]
    for spec in charts.values():
        # The inlined renderer is vega-lite 5; Altair writes a v6 schema URL.
        spec.pop("$schema", None)

    # Escape everything (the template's name ends in .j2, which select_autoescape's
    # default leaves unescaped); the charts' specs and scripts are marked safe in it.
    env = Environment(loader=PackageLoader("evalink.link", "templates"), autoescape=True)
    html = env.get_template("report.html.j2").render(
        result=result,
        choice=result.threshold,
        counts=result.counts,
        charts={name: json.dumps(spec, default=str) for name, spec in charts.items()},
        js=inline_vega_js(),
        review_rows=result.review.height,
    )
    write_text_atomic(directory / "index.html", html)
    review = result.review if result.review.width else pl.DataFrame({"left_id": [], "right_id": []})
    write_table(review.to_arrow(), directory / "clerical_review.csv")
    return directory / "index.html"
