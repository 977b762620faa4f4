"""m re-estimated from the scored candidates, once each has its posterior."""

from __future__ import annotations

import math
from types import SimpleNamespace

import polars as pl

from evalink.link.train import refit_m


def _level(value: int, m: float, u: float) -> SimpleNamespace:
    return SimpleNamespace(
        comparison_vector_value=value,
        m_probability=m,
        u_probability=u,
        _fix_m_probability=False,
        _fix_u_probability=False,
        _has_tf_adjustments=False,
        _has_estimated_u_values=True,
    )


def _linker(m_else: float, u_agree: float = 0.01) -> SimpleNamespace:
    levels = [_level(1, 1 - m_else, u_agree), _level(0, m_else, 1 - u_agree)]
    forename = SimpleNamespace(
        output_column_name="forename", _comparison_levels_excluding_null=levels
    )
    return SimpleNamespace(_settings_obj=SimpleNamespace(comparisons=[forename]))


def _candidates(agree: int, differ: int) -> pl.DataFrame:
    # Certain matches: `differ` of them with a wholly different forename.
    n = agree + differ
    return pl.DataFrame(
        {
            "match_probability": [1.0] * n,
            "match_weight": [10.0] * n,
            "deterministic": [False] * n,
            "gamma_forename": [1] * agree + [0] * differ,
        }
    )


def test_a_level_em_drove_to_the_floor_takes_the_share_of_matches_that_reach_it():
    linker = _linker(m_else=0.002)
    rescored = refit_m(linker, _candidates(agree=900, differ=100))
    m_else = linker._settings_obj.comparisons[0]._comparison_levels_excluding_null[1].m_probability
    assert 0.09 < m_else < 0.11
    # The pairs at that level gain log2(0.1 / 0.002) bits, about 5.6.
    gained = rescored.filter(pl.col("gamma_forename") == 0)["match_weight"][0] - 10.0
    assert math.isclose(gained, math.log2(m_else / 0.002), rel_tol=1e-9)


def test_a_handful_of_matches_leaves_em_estimates_alone():
    linker = _linker(m_else=0.002)
    rescored = refit_m(linker, _candidates(agree=10, differ=10))
    m_else = linker._settings_obj.comparisons[0]._comparison_levels_excluding_null[1].m_probability
    assert m_else == 0.002
    assert rescored["match_weight"].to_list() == [10.0] * 20


def test_deterministic_pairs_keep_their_weight():
    linker = _linker(m_else=0.002)
    candidates = _candidates(agree=900, differ=100).with_columns(
        pl.lit(True).alias("deterministic")
    )
    assert refit_m(linker, candidates)["match_weight"].to_list() == [10.0] * 1000


def test_u_of_a_strong_level_loses_the_matches_among_the_sampled_pairs():
    # One random pair in 5,000 is a match (a small file where every record has one):
    # of a sampled u of 2e-4 for "agree", 0.9 × 2e-4 came from matches.
    linker = _linker(m_else=0.1, u_agree=2e-4)
    refit_m(linker, _candidates(agree=900, differ=100), prior=2e-4)
    agree = linker._settings_obj.comparisons[0]._comparison_levels_excluding_null[0]
    assert math.isclose(agree.u_probability, (2e-4 - 2e-4 * agree.m_probability) / (1 - 2e-4))
    # Computed from the sampled u each round, not compounded.
    refit_m(linker, _candidates(agree=900, differ=100), prior=2e-4)
    assert math.isclose(agree.u_probability, (2e-4 - 2e-4 * agree.m_probability) / (1 - 2e-4))


def test_levels_beside_a_fixed_level_are_read_as_shares_of_the_pairs_outside_it():
    # Sex: "same, as the forename says" is fixed at weight 0. Of the matches whose
    # forenames differ (a nickname, a swap) nearly all still agree on sex, against half
    # of non-matches: agreeing must count for the match (m 0.98 over u 0.5), not
    # against it (m 0.05 of all matches over u 0.5).
    fixed = _level(2, 0.5, 0.5)
    fixed._fix_m_probability = fixed._fix_u_probability = True
    levels = [fixed, _level(1, 0.5, 0.5), _level(0, 0.5, 0.5)]
    sex = SimpleNamespace(output_column_name="sex", _comparison_levels_excluding_null=levels)
    linker = SimpleNamespace(_settings_obj=SimpleNamespace(comparisons=[sex]))
    candidates = pl.DataFrame(
        {
            "match_probability": [1.0] * 10_000,
            "match_weight": [10.0] * 10_000,
            "deterministic": [False] * 10_000,
            "gamma_sex": [2] * 9_500 + [1] * 490 + [0] * 10,
        }
    )
    rescored = refit_m(linker, candidates)
    assert levels[0].m_probability == 0.5
    assert levels[1].m_probability > 0.9
    gained = rescored.filter(pl.col("gamma_sex") == 1)["match_weight"][0] - 10.0
    assert gained > 0.8
