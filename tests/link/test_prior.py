"""The starting prior: near-certain pairs over all pairs, allowing for their recall."""

from __future__ import annotations

import math

import polars as pl

from evalink.link.train import starting_prior


def _side(rows: list[tuple[str, str | None, str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=["record_id", "nino", "dob", "forename_main", "surname_std", "postcode"],
        orient="row",
    )


def test_pairs_on_nino_and_dob_or_on_name_dob_and_postcode_count_once_each():
    left = _side(
        [
            ("l1", "AB123456", "2001-02-03", "AMY", "SHAH", "B11AA"),  # both rules
            ("l2", None, "1990-05-06", "JO", "KAUR", "B22BB"),  # name, dob, postcode
            ("l3", "CD654321", "1980-01-02", "SAM", "LEE", "B33CC"),  # NINO, dob differs
        ]
    )
    right = _side(
        [
            ("r1", "AB123456", "2001-02-03", "AMY", "SHAH", "B11AA"),
            ("r2", None, "1990-05-06", "JO", "KAUR", "B22BB"),
            ("r3", "CD654321", "1980-02-01", "SAM", "LEE", "B33CC"),
            ("r4", None, "1970-01-01", "AL", "WU", "B44DD"),
        ]
    )
    # Two near-certain pairs of 12, taken to be 60% of the matches.
    assert math.isclose(starting_prior(left, right), 2 / 0.6 / 12)
