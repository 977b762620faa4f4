"""One-to-one assignment: each record links to at most one record on the other side.

Candidate pairs are accepted greedily in order of strength — deterministic pairs first,
then by match weight — and every later pair touching an accepted record is dropped.
A twin therefore loses to the sibling who agrees on forename, and a junior to the
parent with the right date of birth, before any threshold is applied.
"""

from __future__ import annotations

import math

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


# A left record is never assumed certain to have a match on the right, however many do.
_MAX_SHARE_MATCHED = 0.98
_SHARE_ROUNDS = 20


def posterior_given_one_match(
    candidates: pl.DataFrame,
    prior: float,
    left_records: int,
    right_records: int,
    *,
    expected: float | None = None,
) -> pl.DataFrame:
    """Match probabilities that know each left record has at most one match.

    Pairwise, Fellegi-Sunter weighs a pair against the prior that two random records
    match (1 in the size of the right side). But a cohort record usually *has* its
    person somewhere in a department's population: the question is which candidate,
    if any. With π the share of left records expected to have a match (estimated from
    the pairwise probabilities), each right record a priori equally likely, and Bayes
    factors BF_j of the left record's candidates:

        P(candidate j) = (π/N)·BF_j / ((1 − π) + (π/N)·Σ_k BF_k)

    A record with one strong candidate and no rival becomes more certain; one with two
    similar candidates (a twin, a junior) is split between them. Deterministic pairs
    keep their probability.

    `expected`: the number of matches the pairwise probabilities imply, if the caller
    has it (the prior times all pairs); otherwise summed over the one-to-one assignment.
    """
    if candidates.height == 0:
        return candidates
    if expected is None:
        expected = float(one_to_one(candidates)["match_probability"].sum())
    share = min(max(expected / max(left_records, 1), 0.01), _MAX_SHARE_MATCHED)
    prior_weight = math.log2(prior / (1 - prior))
    # Bayes factors relative to one record of the right side, per left record.
    factors = candidates.select(
        "left_id",
        pl.lit(2.0)
        .pow(
            (pl.col("match_weight") - prior_weight - math.log2(max(right_records, 1))).clip(
                -1000, 1000
            )
        )
        .alias("_factor"),
    )
    per_left = factors.group_by("left_id").agg(pl.col("_factor").sum().alias("_sum"))["_sum"]
    # π by expectation maximisation: the pairwise probabilities start it (they
    # undercount a lone candidate, weighed against every record of the right side), then
    # the share of left records whose posterior says they have a match, until it settles.
    for _ in range(_SHARE_ROUNDS):
        has_match = (share * per_left / ((1 - share) + share * per_left)).sum()
        updated = min(max(float(has_match) / max(left_records, 1), 0.01), _MAX_SHARE_MATCHED)
        if abs(updated - share) < 1e-4:
            share = updated
            break
        share = updated
    per_record = math.log2(share / max(right_records, 1))
    # log2 of (π/N)·BF_j, relative to (1 − π): large values are safe in float64.
    evidence = pl.col("match_weight") - prior_weight + per_record - math.log2(1 - share)
    scaled = candidates.with_columns(pl.lit(2.0).pow(evidence.clip(-1000, 1000)).alias("_odds"))
    scaled = scaled.with_columns(pl.col("_odds").sum().over("left_id").alias("_total"))
    posterior = pl.col("_odds") / (1 + pl.col("_total"))
    return scaled.with_columns(
        pl.when(pl.col("deterministic"))
        .then(pl.col("match_probability"))
        .otherwise(posterior)
        .alias("match_probability"),
    ).drop("_odds", "_total")
