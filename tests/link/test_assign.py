"""One-to-one assignment and the precision threshold."""

from __future__ import annotations

import polars as pl

from evalink.link.assign import one_to_one
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
