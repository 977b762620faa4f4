"""Planted effects: the defaults, overriding them, and recovering them from the truth."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from evalink.errors import InputError
from evalink.synth.effects import DEFAULT_EFFECTS, Window, resolve
from tests.synth.recover import BIG_EFFECTS, absence_ratio, rate_ratio

NIS = {
    "child_looked_after": 0.68,
    "adult_custody": 0.75,
    "juvenile_custody": 0.62,
    "juvenile_conviction": 0.85,
    "jsa_claim": 0.90,
    "school_attendance": 1.0,
}


def test_defaults_are_the_national_impact_study_figures() -> None:
    for name, ratio in NIS.items():
        assert DEFAULT_EFFECTS[name] == (Window(0, None, ratio),)
    cpp = DEFAULT_EFFECTS["child_protection_plan"]
    assert [(w.from_month, w.to_month, w.ratio) for w in cpp] == [(0, 6, 1.0), (6, 18, 1.15), (18, None, 1.0)]


def test_effects_can_be_set_by_flag_and_by_file(tmp_path: Path) -> None:
    file = tmp_path / "effects.json"
    file.write_text(json.dumps({"jsa_claim": 0.5, "child_protection_plan": [[0, 12, 1.3], [12, None, 1.0]]}))
    effects = resolve({"adult_custody": 0.9}, file)
    assert effects["adult_custody"] == (Window(0, None, 0.9),)
    assert effects["jsa_claim"] == (Window(0, None, 0.5),)
    assert effects["child_protection_plan"] == (Window(0, 12, 1.3), Window(12, None, 1.0))
    assert effects["child_looked_after"] == DEFAULT_EFFECTS["child_looked_after"]


def test_a_written_effects_file_can_be_read_back(big_world: Path) -> None:
    written = json.loads((big_world / "truth/effects.json").read_text())
    assert set(written["overridden"]) == set(BIG_EFFECTS)
    again = resolve(None, big_world / "truth/effects.json")
    for name, ratio in BIG_EFFECTS.items():
        assert again[name] == (Window(0, None, ratio),)


@pytest.mark.parametrize("bad", [{"no_such_effect": 0.5}, {"jsa_claim": -1}, {"jsa_claim": [[6, 3, 1.0]]}])
def test_bad_effects_are_refused(bad: dict) -> None:
    with pytest.raises(InputError):
        resolve(bad)


def _events(world: Path, path: str, date: str, where: pl.Expr) -> pl.DataFrame:
    table = pl.read_parquet(world / "departments" / path)
    return table.filter(where).select("record_id", pl.col(date).alias("date"))


# (effect, department, table, date column, filter, ages, months since index)
OUTCOMES = {
    "child_looked_after": ("dfe", "dfe/looked_after.parquet", "start_date", pl.lit(True), (0, 18), (0, 36)),
    "juvenile_conviction": (
        "moj", "moj/offences.parquet", "offence_date",
        pl.col("juvenile") & (pl.col("disposal") == "conviction"), (10, 18), (0, 36),
    ),
    "juvenile_custody": (
        "moj", "moj/offences.parquet", "offence_date",
        pl.col("juvenile") & (pl.col("sentence") == "custody"), (10, 18), (0, 36),
    ),
    "adult_custody": (
        "moj", "moj/offences.parquet", "offence_date",
        ~pl.col("juvenile") & (pl.col("sentence") == "custody"), (18, 80), (0, 36),
    ),
    "jsa_claim": (
        "dwp", "dwp/benefit_spells.parquet", "start_date",
        pl.col("benefit").is_in(["JSA", "UC"]), (16, 66), (0, 36),
    ),
    "child_protection_plan": (
        "dfe", "dfe/children_in_need.parquet", "start_date", pl.col("episode_type") == "CPP", (0, 18), (6, 18),
    ),
}  # fmt: skip


@pytest.mark.parametrize("effect", sorted(OUTCOMES))
def test_planted_effect_is_within_the_stratified_estimates_interval(big_world: Path, effect: str) -> None:
    dept, path, date, where, (a0, a1), (m0, m1) = OUTCOMES[effect]
    planted = BIG_EFFECTS.get(effect) or next(w.ratio for w in DEFAULT_EFFECTS[effect] if w.from_month == m0)
    est = rate_ratio(big_world, dept, _events(big_world, path, date, where),
                     age_lo=a0, age_hi=a1, from_month=m0, to_month=m1)  # fmt: skip
    assert est.low <= planted <= est.high, est


@pytest.mark.parametrize("effect", ["child_looked_after", "juvenile_conviction", "jsa_claim"])
def test_strong_planted_effects_are_recovered(big_world: Path, effect: str) -> None:
    dept, path, date, where, (a0, a1), (m0, m1) = OUTCOMES[effect]
    est = rate_ratio(big_world, dept, _events(big_world, path, date, where),
                     age_lo=a0, age_hi=a1, from_month=m0, to_month=m1)  # fmt: skip
    assert est.high < 1.0, est
    assert est.ratio == pytest.approx(BIG_EFFECTS[effect], abs=0.15)


def test_no_effect_is_seen_where_none_was_planted(big_world: Path) -> None:
    cin = _events(big_world, "dfe/children_in_need.parquet", "start_date", pl.col("episode_type") == "CIN")
    est = rate_ratio(big_world, "dfe", cin, age_lo=0, age_hi=18, from_month=0, to_month=36)
    assert est.low <= 1.0 <= est.high, est


def test_a_naive_comparison_is_biased_by_selection(big_world: Path) -> None:
    # Before attachment nothing was planted, yet attached families had more children
    # in need than waiting ones: they were chosen for having more problems.
    cin = _events(big_world, "dfe/children_in_need.parquet", "start_date", pl.col("episode_type") == "CIN")
    naive = rate_ratio(big_world, "dfe", cin, age_lo=0, age_hi=18, from_month=0, to_month=36, stratify=False)
    assert naive.low > 1.2, naive


def test_school_attendance_is_unchanged_by_default(big_world: Path) -> None:
    est = absence_ratio(big_world)
    assert est.low <= 1.0 <= est.high, est
    assert est.ratio == pytest.approx(1.0, abs=0.15)
