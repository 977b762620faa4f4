"""When the council's records of each family must go: per family, not per dataset.

"Seven years after the service ends" is a date of each family's own: its case closure.
A family the programme never worked with has no closure; the policy says what applies
to it (a period after identification). A family worked with whose case is still open
has no date yet: it gets one when an identify run sees its closure. Every row the
council keeps from an identify run carries its family's date (`destroy_by`) and the
rule that set it (`retention_rule`), so retention can destroy one family's rows and
leave another's (see evalink.retention.run).

Re-running identify keeps the dates: a family's identification date is the earliest
on which any of its members' source records was first identified, carried from run to
run by (source, source_record_id) — family keys themselves are renumbered every run.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from evalink.identify.cohort import ATTACHED
from evalink.node.node import ROW_RULE
from evalink.policy.spec import RetentionEvent

if TYPE_CHECKING:
    from evalink.policy import Policy

DESTROY_BY = "destroy_by"
IDENTIFIED = "identified"
# The dataset whose rules date the council's records of a family.
FAMILY_DATASET = "identify_families"


def identification_dates(
    persons: pl.DataFrame, as_of: date, earlier: tuple[pl.DataFrame, pl.DataFrame] | None
) -> pl.DataFrame:
    """family_key → the day the family was first identified: `as_of`, or earlier when a
    member's source record belonged to a family an earlier run identified.

    `earlier`: the previous run's (identify_persons, identify_families), or None."""
    families = persons.select("family_key").drop_nulls().unique()
    if earlier is None:
        return families.with_columns(pl.lit(as_of).alias(IDENTIFIED))
    earlier_persons, earlier_families = earlier
    if IDENTIFIED not in earlier_families.columns:
        return families.with_columns(pl.lit(as_of).alias(IDENTIFIED))
    first_seen = (
        earlier_persons.select("source", "source_record_id", "family_key")
        .drop_nulls()
        .join(earlier_families.select("family_key", IDENTIFIED), on="family_key")
        .group_by("source", "source_record_id")
        .agg(pl.col(IDENTIFIED).min())
    )
    carried = (
        persons.select("family_key", "source", "source_record_id")
        .drop_nulls("family_key")
        .join(first_seen, on=["source", "source_record_id"], how="inner")
        .group_by("family_key")
        .agg(pl.col(IDENTIFIED).min())
    )
    return families.join(carried, on="family_key", how="left").with_columns(
        pl.min_horizontal(pl.col(IDENTIFIED), pl.lit(as_of)).alias(IDENTIFIED)
    )


def family_dates(policy: Policy, party: str, families: pl.DataFrame) -> pl.DataFrame:
    """family_key → destroy_by, retention_rule, from each family's own event.

    `families`: family_key, cohort, case_closed, identified."""
    rows = []
    for family_key, cohort, closed, identified in families.select(
        "family_key", "cohort", "case_closed", IDENTIFIED
    ).iter_rows():
        if closed is not None:
            events = {RetentionEvent.CASE_CLOSED.value: closed}
        elif cohort == ATTACHED:
            events = {}  # worked with, case still open: no date yet
        else:
            events = {RetentionEvent.IDENTIFIED.value: identified}
        day, rule = policy.destroy_by_rule(party, FAMILY_DATASET, events)
        rows.append((family_key, day, rule))
    return pl.DataFrame(
        rows, schema={"family_key": pl.Utf8, DESTROY_BY: pl.Date, ROW_RULE: pl.Utf8},
        orient="row",
    )


def undated_rows(policy: Policy, party: str, as_of: date) -> tuple[date | None, str | None]:
    """The date for rows of no family (a quarantined record, an adult in no family):
    identified on this run's day and never worked with."""
    return policy.destroy_by_rule(party, FAMILY_DATASET, {RetentionEvent.IDENTIFIED.value: as_of})


def dated(
    table: pl.DataFrame,
    dates: pl.DataFrame,
    family_of: pl.DataFrame,
    undated: tuple[date | None, str | None],
) -> pl.DataFrame:
    """`table` with each row's family's destroy_by and retention_rule: by its
    family_key, else its person_key's family (`family_of`: person_key → family_key);
    rows of no family get `undated`."""
    key = "family_key" if "family_key" in table.columns else None
    out = table
    if key is None and "person_key" in table.columns:
        out = out.join(family_of.rename({"family_key": "_family"}), on="person_key", how="left")
        key = "_family"
    if key is None:
        out = out.with_columns(pl.lit(None, pl.Utf8).alias("_family"))
        key = "_family"
    out = out.join(dates.rename({"family_key": key}), on=key, how="left")
    out = out.with_columns(
        pl.when(pl.col(key).is_null()).then(pl.lit(undated[0], pl.Date))
        .otherwise(pl.col(DESTROY_BY)).alias(DESTROY_BY),
        pl.when(pl.col(key).is_null()).then(pl.lit(undated[1], pl.Utf8))
        .otherwise(pl.col(ROW_RULE)).alias(ROW_RULE),
    )
    return out.drop("_family", strict=False)
