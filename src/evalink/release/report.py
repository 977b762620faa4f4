"""A report drawn only from checked tables: the tables as they will be published
(suppressed cells shown as "[c]", counts rounded) and a chart of each, made from those
same published cells — never from the data, so the report can show nothing the
tables' checks did not pass.

Charts are Altair's, rendered to SVG when the report is written (vl-convert, offline),
so the page is static: no script, nothing fetched, nothing but the published cells
inside it.

The report is released with the tables it was drawn from, in one airlock request
(`drawn_from`), and the public node refuses it without them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
from jinja2 import Environment, PackageLoader

from evalink.files import write_text_atomic

# The Office for National Statistics' mark for a value withheld for confidentiality.
SUPPRESSED = "[c]"


@dataclass(frozen=True)
class ReportTable:
    """One published table: its file name, a title, what it counts, and the table as
    `evalink table` wrote OUT.csv (index columns, then one column per value)."""

    file: str
    title: str
    description: str
    index: tuple[str, ...]
    published: pd.DataFrame


def render_report(tables: list[ReportTable], out: Path | str, *, title: str) -> Path:
    """Write the HTML report to `out` (atomically) and return its path."""
    # Escape everything: the template's name ends in .j2, which select_autoescape's
    # default would leave unescaped.
    env = Environment(loader=PackageLoader("evalink.release", "templates"), autoescape=True)
    shown = [
        {
            "file": t.file,
            "title": t.title,
            "description": t.description,
            "header": list(t.published.columns),
            "rows": [[_cell(v) for v in row] for row in t.published.itertuples(index=False)],
            "chart": _svg(_chart(t)),
        }
        for t in tables
    ]
    html = env.get_template("report.html.j2").render(
        title=title, tables=shown, suppressed=SUPPRESSED
    )
    out = Path(out)
    write_text_atomic(out, html)
    return out


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return SUPPRESSED
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def _svg(chart: alt.Chart) -> str:
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_dict()))


def _chart(table: ReportTable) -> alt.Chart:
    """Bars of the published cells (totals left out, suppressed cells absent)."""
    index = [c for c in table.index if c in table.published.columns]
    values = [c for c in table.published.columns if c not in index and c != "Total"]
    frame = table.published
    if "Total" in set(frame[index[0]].astype(str)):
        frame = frame[frame[index[0]].astype(str) != "Total"]
    long = frame.melt(id_vars=index, value_vars=values, var_name="column", value_name="value")
    long = long.dropna(subset=["value"])
    long["group"] = long[index].astype(str).agg(" / ".join, axis=1)
    return (
        alt.Chart(long[["group", "column", "value"]])
        .mark_bar()
        .encode(
            y=alt.Y("group:N", title=" / ".join(index)),
            x=alt.X("value:Q", title=table.title),
            color=alt.Color("column:N", title=None),
        )
        .properties(width=480)
    )
