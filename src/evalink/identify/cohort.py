"""The cohort: families the programme worked with, and eligible families not yet worked
with — the comparison pool the evaluation needs."""

from __future__ import annotations

import polars as pl

ATTACHED = "attached"
ELIGIBLE_WAITING = "eligible_waiting"
NOT_ELIGIBLE = "not_eligible"


def cohort(families: pl.DataFrame, attachments: pl.DataFrame) -> pl.DataFrame:
    """Add `cohort` and `attachment_date` to each family.

    `attachments`: family_key, attachment_date, keyworker_cost, case_closed (one row per
    programme record, the family's figures repeated on each member's row). A family is
    attached from its earliest attachment, whatever the rules say of it today: the
    programme's own record of whom it worked with is the fact to evaluate.
    """
    first = (
        attachments.filter(pl.col("family_key").is_not_null())
        .group_by("family_key")
        .agg(
            pl.col("attachment_date").min(),
            pl.col("keyworker_cost").max(),
            pl.col("case_closed").max(),
        )
    )
    return families.join(first, on="family_key", how="left").with_columns(
        pl.when(pl.col("attachment_date").is_not_null())
        .then(pl.lit(ATTACHED))
        .when(pl.col("eligible"))
        .then(pl.lit(ELIGIBLE_WAITING))
        .otherwise(pl.lit(NOT_ELIGIBLE))
        .alias("cohort")
    )
