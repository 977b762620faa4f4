"""One-to-one assignment: each record links to at most one record on the other side.

Candidate pairs are accepted greedily in order of strength — deterministic pairs first,
then by match weight — and every later pair touching an accepted record is dropped.
A twin therefore loses to the sibling who agrees on forename, and a junior to the
parent with the right date of birth, before any threshold is applied.
"""

from __future__ import annotations

import polars as pl


def one_to_one(candidates: pl.DataFrame) -> pl.DataFrame:
    """Greedy one-to-one assignment of `candidates`.

    `candidates` has `left_id, right_id, match_weight, deterministic`. Ties are broken
    by the ids, so the result does not depend on row order or on the engine.
    Implemented as repeated mutual-best rounds, which accept exactly the pairs the
    sequential greedy algorithm would, but a whole round at a time.
    """
    order = ["deterministic", "match_weight", "left_id", "right_id"]
    descending = [True, True, False, False]
    remaining = candidates.sort(order, descending=descending)
    accepted: list[pl.DataFrame] = []
    while remaining.height:
        best_left = remaining.unique("left_id", keep="first", maintain_order=True)
        best_right = remaining.unique("right_id", keep="first", maintain_order=True)
        mutual = best_left.join(
            best_right.select("left_id", "right_id"), on=["left_id", "right_id"]
        )
        accepted.append(mutual)
        remaining = remaining.filter(
            ~pl.col("left_id").is_in(mutual["left_id"].implode())
            & ~pl.col("right_id").is_in(mutual["right_id"].implode())
        )
    if not accepted:
        return candidates.clear()
    return pl.concat(accepted).sort(order, descending=descending)
