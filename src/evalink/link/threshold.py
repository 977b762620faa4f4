"""Choosing the match threshold from estimated precision.

Among the assigned pairs, the model's match probabilities estimate how many are true:
accepting every pair at or above a threshold t has estimated precision equal to the
mean probability of the accepted pairs. The threshold is the lowest t whose estimated
precision still meets `min_precision` — the most matches the precision allows. No pair
the model thinks more likely a non-match than a match (probability below 0.5) is ever
accepted, whatever the average.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

FLOOR = 0.5


@dataclass
class ThresholdChoice:
    threshold: float
    estimated_precision: float
    estimated_recall: float
    accepted: int


def precision_recall_curve(assigned: pl.DataFrame) -> pl.DataFrame:
    """Estimated precision and recall if the threshold were each pair's probability."""
    ranked = assigned.select("match_probability").sort("match_probability", descending=True)
    total = float(ranked["match_probability"].sum()) or 1.0
    return ranked.with_columns(
        pl.col("match_probability").alias("threshold"),
        (pl.col("match_probability").cum_sum() / pl.int_range(1, pl.len() + 1)).alias(
            "estimated_precision"
        ),
        (pl.col("match_probability").cum_sum() / total).alias("estimated_recall"),
        pl.int_range(1, pl.len() + 1).alias("accepted"),
    ).drop("match_probability")


def choose_threshold(assigned: pl.DataFrame, min_precision: float) -> ThresholdChoice:
    # Pairs with equal probability are accepted or refused together: judge each
    # threshold by the last of its ties.
    curve = precision_recall_curve(assigned).unique("threshold", keep="last", maintain_order=True)
    eligible = curve.filter(
        (pl.col("estimated_precision") >= min_precision) & (pl.col("threshold") >= FLOOR)
    )
    if eligible.height == 0:
        return ThresholdChoice(
            threshold=1.0, estimated_precision=1.0, estimated_recall=0.0, accepted=0
        )
    # The curve is ordered by descending probability: the last eligible row is the
    # lowest threshold. Ties at that probability are all accepted together.
    row = eligible.tail(1).to_dicts()[0]
    threshold = float(row["threshold"])
    kept = curve.filter(pl.col("threshold") >= threshold).tail(1).to_dicts()[0]
    return ThresholdChoice(
        threshold=threshold,
        estimated_precision=float(kept["estimated_precision"]),
        estimated_recall=float(kept["estimated_recall"]),
        accepted=int(kept["accepted"]),
    )
