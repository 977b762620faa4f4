"""The evaluation's report in the researcher's workspace: a static page that names the
plan it was run under (every registered version of it), draws each chart kind as
inline SVG, flags an outcome whose balance failed, and escapes whatever the data say.

The result is built by hand from the row dataclasses, so the page is checked against
known numbers without running an evaluation."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from markupsafe import escape

from evalink.evaluate.balance import Balance
from evalink.evaluate.costs import TOTAL, CostRow
from evalink.evaluate.evaluation import (
    RATE_BANDS,
    EffectRow,
    Evaluation,
    LinkageRow,
    RateRow,
)
from evalink.evaluate.outputs import tables
from evalink.evaluate.plan import RegisteredPlan, Window, load_plan
from evalink.evaluate.registry import Registration
from evalink.evaluate.report import Flag, render_report

EXAMPLE = Path(__file__).parents[2] / "examples" / "evaluation-plan.yaml"
SURE = "match probability >= 0.99"
WEIGHTED = "weighted by match probability"
FAILED_FLAG = "balance not achieved: adjusted SMD above 0.1 on family absence"


def _version_2(tmp: Path) -> tuple[RegisteredPlan, str]:
    """The example plan changed once after registration: version 2 is in use, and
    version 1's hash is of the original bytes."""
    original = EXAMPLE.read_text(encoding="utf-8")
    changed = tmp / "evaluation-plan.yaml"
    changed.write_text(original.replace("version: 1\n", "version: 2\n", 1), encoding="utf-8")
    return load_plan(changed), hashlib.sha256(original.encode("utf-8")).hexdigest()


def _effect(outcome: str, window: Window, estimate: float | None, *,
            method: str = "propensity_weighting", balance_ok: bool = True, note: str = "",
            measure: str = "rate_ratio", agrees: str = "") -> EffectRow:
    low, high = (None, None) if estimate is None else (estimate * 0.8, estimate * 1.2)
    return EffectRow(
        outcome=outcome, window=window, measure=measure, estimate=estimate, ci_low=low,
        ci_high=high, programme_rate=None if estimate is None else 0.12 * estimate,
        comparison_rate=None if estimate is None else 0.12,
        difference=None if estimate is None else 0.12 * estimate - 0.12,
        n_programme=1200, n_comparison=3400, families_programme=400,
        families_comparison=1100, method=method, balance_ok=balance_ok,
        agrees_with_primary=agrees, note=note,
    )


def _balance(outcome: str, covariate: str, before: float, after: float) -> Balance:
    return Balance(outcome, covariate, before, after, 0.5, 0.4, 0.49, 1200, 3400)


def _linkage(outcome: str, window: Window, links: str, estimate: float,
             moved: float | None) -> LinkageRow:
    return LinkageRow(outcome, window, links, estimate, 1150, 3300, 390, 1080, moved,
                      None if moved is None else abs(moved) / 0.36)


def _cost(outcome: str, window: Window, avoided: float | None) -> CostRow:
    value = None if avoided is None else avoided * 84_000
    per_pound = None if value is None else value / 1_400_000
    return CostRow(
        outcome, window, 1200, 400, avoided, None if avoided is None else avoided - 10,
        None if avoided is None else avoided + 10, value, value, 1_400_000.0,
        per_pound, None if per_pound is None else per_pound - 1,
        None if per_pound is None else per_pound + 1, per_pound, None, None,
    )


def evaluation(tmp: Path) -> Evaluation:
    """Two outcomes: children looked after, balanced, whose window 19–24 was not
    estimated (a note with markup in it); school attendance, not balanced on the
    family's absence. Both estimators for the first window."""
    registered, first_sha = _version_2(tmp)
    w1, w2, w3, whole = registered.plan.windows
    result = Evaluation(
        plan=registered,
        registrations=[
            Registration("demo-1", 1, first_sha, "2023-01-10", 41),
            Registration("demo-1", 2, registered.sha256, "2023-03-02", 97),
        ],
        newly_registered=False, project="demo-1", persons=4600, families=1500,
    )
    result.effects = [
        _effect("child_looked_after", w1, 0.80),
        _effect("child_looked_after", w1, 0.85, method="callaway_santanna", agrees="yes"),
        _effect("child_looked_after", w2, 0.70),
        _effect("child_looked_after", w3, None, note="fewer than 5 events in an arm <b>"),
        _effect("child_looked_after", whole, 0.75),
        *[_effect("school_attendance", w, 1.05, balance_ok=False, measure="ratio_of_means")
          for w in (w1, w2, w3, whole)],
    ]
    result.balance = [
        _balance("child_looked_after", "headline_count=3", 0.40, 0.02),
        _balance("child_looked_after", "area=E08000001", -0.15, 0.05),
        _balance("child_looked_after", "history -12..-1", 0.60, -0.03),
        _balance("school_attendance", "family absence", 0.70, 0.25),
        _balance("school_attendance", "headline_count=3", 0.35, 0.04),
    ]
    result.linkage = [
        row
        for outcome in ("child_looked_after", "school_attendance")
        for row in (_linkage(outcome, w1, "all", 0.80, None),
                    _linkage(outcome, w1, SURE, 0.78, -0.025),
                    _linkage(outcome, w1, WEIGHTED, 0.81, 0.012))
    ]
    result.costs = [
        _cost("child_looked_after", w1, 30.0), _cost("child_looked_after", w3, None),
        # All outcomes: £2,520,000 of fiscal value over a cost of £1,400,000.
        CostRow(TOTAL, w1, 1200, 400, None, None, None, 2_520_000.0, 3_000_000.0, 1_400_000.0,
                1.8, 0.8, 2.8, 3_000_000 / 1_400_000, 1.1, 3.3),
    ]
    result.rates = [
        RateRow(outcome, arm, band.from_month, band.to_month, rate, 1100)
        for outcome in ("child_looked_after", "school_attendance")
        for band in RATE_BANDS
        for arm, rate in (("programme", 0.10 if band.from_month < 0 else 0.08),
                          ("comparison (weighted)", 0.10))
    ]
    return result


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Evaluation, Path, str]:
    # One page for every test: drawing the charts is most of a render's time.
    tmp = tmp_path_factory.mktemp("report")
    result = evaluation(tmp)
    out = render_report(result, tables(result), tmp / "report.html")
    return result, out, out.read_text(encoding="utf-8")


def section(html: str, start: str, end: str) -> str:
    """The page between two section ids."""
    return html[html.index(f'id="{start}"'):html.index(f'id="{end}"')]


def test_the_report_is_written_where_it_was_asked_for(written):
    _, out, _ = written
    assert out.name == "report.html" and out.is_file()


def test_the_page_runs_nothing_and_loads_nothing(written):
    _, _, html = written
    assert "<script" not in html.lower()
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html
    # The plan's own text is shown as text; the rest of the page names no address at all.
    page = re.sub(r"<pre>.*?</pre>", "", html, flags=re.DOTALL)
    assert "http://" not in page and "https://" not in page


def test_it_says_it_is_the_workspace_copy_not_yet_released(written):
    _, _, html = written
    assert "workspace copy, inside the secure setting" in html
    assert "passed the release step's disclosure checks" in html


def test_the_header_gives_the_full_plan_hash_and_every_registered_version(written):
    result, _, html = written
    assert len(result.plan.sha256) == 64 and result.plan.sha256 in html
    rows = re.findall(r'<tr><td>(\d+)</td><td class="text"><code class="sha">([0-9a-f]{64})'
                      r'</code></td><td>([\d-]+)</td><td>\d+</td><td class="text">(.*?)</td></tr>',
                      html)
    assert [(int(v), sha, day) for v, sha, day, _ in rows] == [
        (r.version, r.sha256, r.registered) for r in result.registrations
    ]
    assert ["in use" in marker for *_, marker in rows] == [False, True]


def test_each_chart_is_drawn_as_inline_svg_in_its_section(written):
    _, _, html = written
    assert "<svg" in section(html, "effects", "effects-table")  # the forest plot
    assert "<svg" in section(html, "balance", "rates")  # the love plot
    assert "<svg" in section(html, "rates", "linkage")  # the rates by month


def test_an_outcome_whose_balance_failed_is_flagged_by_the_forest_plot_and_in_the_table(written):
    _, _, html = written
    forest = section(html, "effects", "effects-table")
    table = section(html, "effects-table", "balance")
    assert f"Share of school sessions missed: {FAILED_FLAG}" in forest
    assert table.count(FAILED_FLAG) == 4  # each of its windows
    assert "Children looked after: balance not achieved" not in html


def test_an_effect_without_an_estimate_is_listed_under_the_chart_with_its_note(written):
    _, _, html = written
    forest = section(html, "effects", "effects-table")
    assert ("Children looked after, months 19–24, propensity-score weighting: "
            "fewer than 5 events in an arm &lt;b&gt;") in forest


def test_a_note_with_markup_in_it_is_shown_escaped(written):
    _, _, html = written
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_the_effects_table_shows_ratios_to_two_places_and_rates_as_percentages(written):
    _, _, html = written
    table = section(html, "effects-table", "balance")
    assert ("<td>Children looked after</td><td>7–12</td><td class=\"text\">propensity-score "
            "weighting</td><td>0.80 [0.64, 0.96]</td><td>9.6%</td><td>12.0%</td>"
            "<td>-2.4 pts</td><td>1,200 (400)</td><td>3,400 (1,100)</td>") in table
    assert "<td>not estimated</td>" in table


def test_linkage_sensitivity_shows_each_choice_of_links_and_how_far_it_moved(written):
    _, _, html = written
    linkage = section(html, "linkage", "costs")
    assert f">{escape(SURE)}</th>" in linkage and f">{WEIGHTED}</th>" in linkage
    assert ("<td>0.80</td><td>1,150 / 3,300</td><td>0.78</td><td>1,150 / 3,300</td>"
            "<td>-0.025</td><td>7%</td><td>0.81</td>") in linkage


def test_costs_give_the_benefit_per_pound_at_the_plans_prices(written):
    _, _, html = written
    costs = section(html, "costs", "plan")
    assert "GBP at 2016/17 prices" in costs and "illustrative" in costs
    assert "<td>30.0 [20.0, 40.0]</td><td>£2,520,000</td>" in costs
    assert ("<td>£2,520,000</td><td>£3,000,000</td><td>£1,400,000</td><td>1.80 [0.80, 2.80]</td>"
            "<td>2.14 [1.10, 3.30]</td>") in costs


def test_the_plan_is_shown_as_registered(written):
    result, _, html = written
    assert f"<pre>{escape(result.plan.text)}</pre>" in html


def test_a_long_list_of_unbalanced_covariates_is_given_once_not_on_every_row():
    covariates = tuple(f"area=E0800000{i}" for i in range(5))
    flag = Flag("jsa_claim", "Adults starting a jobseeker's claim", covariates, 0.1)
    assert flag.text.endswith("on area=E08000000, area=E08000001, area=E08000002, "
                              "area=E08000003, area=E08000004")
    assert flag.short == ("balance not achieved: adjusted SMD above 0.1 on 5 covariates "
                          "(listed above the chart)")


def test_a_run_that_estimated_nothing_still_gives_a_page_naming_its_plan(tmp_path):
    registered, _ = _version_2(tmp_path)
    result = Evaluation(plan=registered, registrations=[], newly_registered=True,
                        project="demo-1", persons=0, families=0)
    html = render_report(result, tables(result), tmp_path / "report.html").read_text("utf-8")
    assert "No effect was estimated." in html and "No registration was found." in html
    assert registered.sha256 in html and "<svg" not in html
