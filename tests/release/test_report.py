"""The report drawn from checked tables: what it shows is the published cells, a
suppressed cell as [c], and nothing that runs."""

from __future__ import annotations

import pandas as pd

from evalink.release.report import SUPPRESSED, ReportTable, render_report


def _published() -> pd.DataFrame:
    # As OUT.csv reads back: a suppressed cell is empty (pandas' NA in a nullable column).
    return pd.DataFrame({
        "area": ["North", "<South>", "Total"],
        "attached": pd.array([None, 15, 25], dtype="Int64"),
        "waiting": pd.array([20, 30, 50], dtype="Int64"),
    })


def test_a_suppressed_cell_is_shown_as_c_and_every_label_is_escaped(tmp_path):
    out = render_report(
        [ReportTable("by_area.csv", "Families by area", "Families, by area.", ("area",),
                     _published())],
        tmp_path / "report.html", title="Report",
    )
    html = out.read_text(encoding="utf-8")
    assert f"<td>North</td><td>{SUPPRESSED}</td><td>20</td>" in html
    assert "&lt;South&gt;" in html and "<South>" not in html


def test_the_report_is_a_static_page_with_its_charts_as_svg(tmp_path):
    out = render_report(
        [ReportTable("by_area.csv", "Families by area", "", ("area",), _published())],
        tmp_path / "report.html", title="Report",
    )
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
