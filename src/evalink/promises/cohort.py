"""The values a node must not hold once a promise's date has passed: the cohort's
identifiers and reference numbers, as the council's vault holds them.

They are read from the council's node (`identify_records`: every source record's
identifiers; `reference_numbers`: each person's and family's random reference) and kept
in memory only, for as long as the check runs. A check that runs after the council has
destroyed them too can be given the cohort read earlier in the same run (the demo does).

Values are compared as `evalink.assemble.scan` compares them: upper case, spaces
removed, at least `MIN_LENGTH` characters (a sex code or an initial matches by chance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from evalink.assemble.scan import MIN_LENGTH
from evalink.policy import FieldClass

if TYPE_CHECKING:
    from evalink.node import Node
    from evalink.policy import Policy

RECORDS, REFERENCES = "identify_records", "reference_numbers"
REFERENCE_FIELDS = ("reference_number", "family_reference")
PERSON = "person_key"
# A date of birth has the form of every other date a node holds (a receipt, a
# destroy-by date, an outcome's start): found in a log or a table of dates it proves
# nothing, so it is looked for only where no other dates are (see `holds_dates`).
DATE_OF_BIRTH = "dob"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def normalised(column: pl.Expr) -> pl.Expr:
    """A value as `evalink.assemble.scan` compares it: upper case, no white space."""
    return column.cast(pl.Utf8).str.to_uppercase().str.replace_all(r"\s+", "")


@dataclass(frozen=True)
class Cohort:
    """Every value of the cohort worth looking for, one row per person, field and value:
    person_key, field, raw (as held), value (normalised). In memory only."""

    values: pl.DataFrame
    party: str
    read_on: date

    @property
    def persons(self) -> int:
        return self.values[PERSON].n_unique()

    def of(
        self, persons: pl.Series | None = None, *, fields: list[str] | None = None
    ) -> pl.DataFrame:
        """The values of these persons (all when None), in these fields (all when None)."""
        frame = self.values
        if persons is not None:
            frame = frame.filter(pl.col(PERSON).is_in(persons.implode()))
        if fields is not None:
            frame = frame.filter(pl.col("field").is_in(fields))
        return frame

    def shared(self) -> pl.DataFrame:
        """The values of the persons shared for the research (those given a reference
        number), or of every person when the council has not shared yet."""
        referenced = self.values.filter(pl.col("field").is_in(REFERENCE_FIELDS))[PERSON].unique()
        return self.of(referenced) if referenced.len() else self.values


def identifier_fields(policy: Policy) -> list[str]:
    """The direct identifiers of the policy: what a person is found by."""
    return policy.fields_of_class(FieldClass.DIRECT_IDENTIFIER)


def read_cohort(node: Node, policy: Policy) -> Cohort | None:
    """The cohort as `node` holds it now, or None if it holds neither dataset."""
    held = [name for name in (RECORDS, REFERENCES) if node.parts(name)]
    tables = {}
    for name in held:
        table = pl.from_arrow(node.read_dataset(name, purpose="promise check"))
        assert isinstance(table, pl.DataFrame)
        tables[name] = table
    return cohort_from(tables, policy, node.party, node.today())


def cohort_from(
    tables: dict[str, pl.DataFrame], policy: Policy, party: str, today: date
) -> Cohort | None:
    """The cohort from a node's datasets as read (None if it holds neither)."""
    frames = []
    if RECORDS in tables:
        records = tables[RECORDS]
        fields = [f for f in identifier_fields(policy) if f in records.columns]
        frames.append(_long(records, fields))
    if REFERENCES in tables:
        references = tables[REFERENCES]
        fields = [f for f in REFERENCE_FIELDS if f in references.columns]
        frames.append(_long(references, fields))
    if not frames:
        return None
    return Cohort(pl.concat(frames).unique(), party, today)


def _long(frame: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    return (
        frame.select(pl.col(PERSON).cast(pl.Utf8), *(pl.col(f).cast(pl.Utf8) for f in fields))
        .unpivot(index=PERSON, on=fields, variable_name="field", value_name="raw")
        .drop_nulls("raw")
        .with_columns(normalised(pl.col("raw")).alias("value"))
        .filter(pl.col("value").str.len_chars() >= MIN_LENGTH)
    )


def column_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Every distinct value of every column of a dataset: column, value (normalised).
    Lists and structs are opened up, so a name inside a list is seen too."""
    parts = []
    for name in frame.columns:
        for series in _flat(frame[name]):
            if series.dtype == pl.Binary:
                continue  # keys and hashes: bytes, not text anyone's name is in
            values = (
                pl.DataFrame({"value": series})
                .select(normalised(pl.col("value")).alias("value"))
                .drop_nulls()
                .unique()
                .filter(pl.col("value").str.len_chars() >= MIN_LENGTH)
            )
            parts.append(values.select(pl.lit(name).alias("column"), "value"))
    if not parts:
        return pl.DataFrame(schema={"column": pl.Utf8, "value": pl.Utf8})
    return pl.concat(parts)


def _flat(series: pl.Series) -> list[pl.Series]:
    if isinstance(series.dtype, pl.List | pl.Array):
        return _flat(series.explode())
    if isinstance(series.dtype, pl.Struct):
        return [s for field in series.struct.fields for s in _flat(series.struct.field(field))]
    return [series]


def holds_dates(values: pl.DataFrame) -> bool:
    """Whether a dataset's values include dates of its own (then a date of birth found
    among them is no evidence of anything)."""
    return bool(values.filter(pl.col("value").str.contains(_ISO_DATE)).height)


def hits(held: pl.DataFrame, wanted: pl.DataFrame) -> pl.DataFrame:
    """The wanted values (field, value) found among a dataset's (column, value), with
    dates of birth left out of a dataset that holds other dates."""
    if holds_dates(held):
        wanted = wanted.filter(pl.col("field") != DATE_OF_BIRTH)
    return held.join(wanted.select("field", "value").unique(), on="value", how="inner")


def not_held_by(wanted: pl.DataFrame, still_held: pl.DataFrame | None) -> pl.DataFrame:
    """`wanted` without any value a person still held also has: a surname, postcode or
    date of birth two families share proves nothing when one family's records remain."""
    if still_held is None or still_held.height == 0:
        return wanted
    return wanted.join(still_held.select("value").unique(), on="value", how="anti")
