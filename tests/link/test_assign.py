"""One-to-one assignment and the precision threshold."""

from __future__ import annotations

import polars as pl

from evalink.link.assign import one_to_one, posterior_given_one_match
from evalink.link.threshold import choose_threshold


def candidates(rows: list[tuple[str, str, float, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["left_id", "right_id", "match_weight", "deterministic"], orient="row"
    )


def test_each_record_is_linked_at_most_once_strongest_pair_first():
    pairs = candidates(
        [
            ("a", "x", 10.0, False),
            ("a", "y", 8.0, False),
            ("b", "x", 9.0, False),
            ("b", "y", 1.0, False),
        ]
    )
    assigned = one_to_one(pairs)
    assert set(zip(assigned["left_id"], assigned["right_id"], strict=True)) == {
        ("a", "x"),
        ("b", "y"),
    }


def test_a_deterministic_pair_wins_over_a_higher_model_weight():
    pairs = candidates([("a", "x", 20.0, False), ("a", "y", 5.0, True)])
    assigned = one_to_one(pairs)
    assert assigned.select("left_id", "right_id").rows() == [("a", "y")]


def test_ties_are_broken_by_id_not_by_row_order():
    forward = candidates([("a", "x", 5.0, False), ("a", "y", 5.0, False)])
    backward = candidates([("a", "y", 5.0, False), ("a", "x", 5.0, False)])
    assert one_to_one(forward).rows() == one_to_one(backward).rows()


def test_the_threshold_is_the_lowest_that_keeps_estimated_precision():
    assigned = pl.DataFrame({"match_probability": [1.0] * 100 + [0.9] * 10 + [0.6] * 5})
    assert choose_threshold(assigned, 0.99).threshold == 0.9
    assert choose_threshold(assigned, 0.999).threshold == 1.0


def test_no_pair_below_even_odds_is_accepted_whatever_the_average():
    assigned = pl.DataFrame({"match_probability": [1.0] * 10_000 + [0.3]})
    assert choose_threshold(assigned, 0.99).threshold >= 0.5


def scored(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["left_id", "right_id", "match_weight"], orient="row")
    return frame.with_columns(
        (1 / (1 + 2.0 ** -pl.col("match_weight"))).alias("match_probability"),
        pl.lit(False).alias("deterministic"),
    )


def test_a_lone_candidate_gains_when_most_records_have_a_match():
    # 100 left records with a clear match each, one with a lone borderline candidate.
    rows = [(f"l{i}", f"r{i}", 20.0) for i in range(100)] + [("x", "rx", 0.0)]
    posterior = posterior_given_one_match(
        scored(rows), 1e-4, left_records=101, right_records=10_000
    )
    lone = posterior.filter(pl.col("left_id") == "x")["match_probability"].item()
    assert lone > 0.9


def test_two_equally_good_candidates_share_the_probability():
    rows = [(f"l{i}", f"r{i}", 20.0) for i in range(100)] + [("x", "ra", 6.0), ("x", "rb", 6.0)]
    posterior = posterior_given_one_match(
        scored(rows), 1e-4, left_records=101, right_records=10_000
    )
    split = posterior.filter(pl.col("left_id") == "x")["match_probability"].to_list()
    assert split[0] == split[1] < 0.5
