"""A department's outcome records for matched people, in its policy dataset's fields.

The outcomes file says, per department, which of its tables feed the outcome dataset
the policy lets it return, how their columns map onto the dataset's fields, and the
date that places each record in the evaluation window — so a department points evalink
at its own extracts without code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evalink.errors import InputError
from evalink.files import read_table
from evalink.policy import Policy
from evalink.records import term_dates
from evalink.yamlfile import load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Window(_Strict):
    from_: date = Field(alias="from")
    to: date


class TermColumns(_Strict):
    academic_year: str
    term: str | None = None  # a column naming the term
    fixed_term: str | None = None  # or one term for every row (e.g. results in summer)


class OutcomeTable(_Strict):
    file: str
    person: str  # the column holding the department's person id
    date: str | None = None  # places the record in the window
    term: TermColumns | None = None  # or the term it belongs to
    columns: dict[str, str] = {}  # dataset field → table column
    constants: dict[str, str] = {}  # dataset field → value

    @model_validator(mode="after")
    def _dated(self) -> OutcomeTable:
        if (self.date is None) == (self.term is None):
            raise ValueError("give one of date or term")
        return self


class DepartmentOutcomes(_Strict):
    dataset: str
    persons: str
    tables: list[OutcomeTable] = Field(min_length=1)


class OutcomesFile(_Strict):
    window: Window
    departments: dict[str, DepartmentOutcomes]


def load_outcomes(
    path: Path | str, policy: Policy, department: str
) -> tuple[Window, DepartmentOutcomes]:
    """Read the outcomes file and check it against the policy for `department`."""
    path = Path(path)
    spec = load_model(path, OutcomesFile, "outcomes")
    if department not in spec.departments:
        raise InputError(f"{path}: departments: no entry for '{department}'")
    outcomes = spec.departments[department]
    fields = policy.dataset(outcomes.dataset).field_names()
    for i, table in enumerate(outcomes.tables):
        for name in [*table.columns, *table.constants]:
            if name not in fields:
                raise InputError(
                    f"{path}: departments.{department}.tables[{i}]: '{name}' is not a field of "
                    f"dataset '{outcomes.dataset}'"
                )
    return spec.window, outcomes


def outcome_records(
    population: Path,
    outcomes: DepartmentOutcomes,
    window: Window,
    matched: pl.DataFrame,
    fields: list[str],
) -> pl.DataFrame:
    """Outcome rows of matched people in the window, keyed by reference number only.

    `matched`: department person id (`person`), reference_number, match_probability.
    Returns exactly `fields` (the policy dataset's), as text, in a stable order.
    """
    parts = []
    for table in outcomes.tables:
        frame = pl.from_arrow(read_table(population / table.file))
        assert isinstance(frame, pl.DataFrame)
        missing = sorted(
            ({table.person, table.date} | set(table.columns.values())) - set(frame.columns) - {None}
        )
        if missing:
            raise InputError(f"{population / table.file}: no column '{missing[0]}'")
        frame = frame.join(matched.rename({"person": table.person}), on=table.person, how="inner")
        if table.term is not None:
            term = pl.col(table.term.term) if table.term.term else pl.lit(table.term.fixed_term)
            start, end = term_dates(pl.col(table.term.academic_year).cast(pl.Utf8), term)
            frame = frame.with_columns(start.alias("_start"), end.alias("_end"))
            extra = {"period_start": "_start", "period_end": "_end"}
        else:
            frame = frame.with_columns(pl.col(table.date).cast(pl.Date).alias("_start"))
            extra = {}
        frame = frame.filter((pl.col("_start") >= window.from_) & (pl.col("_start") <= window.to))
        mapped = {**{k: v for k, v in extra.items() if k in fields}, **table.columns}
        parts.append(
            frame.select(
                pl.col("reference_number"),
                pl.col("match_probability").cast(pl.Utf8),
                *[pl.col(column).cast(pl.Utf8).alias(name) for name, column in mapped.items()],
                *[pl.lit(value).alias(name) for name, value in table.constants.items()],
            )
        )
    combined = pl.concat(parts, how="diagonal") if parts else pl.DataFrame()
    for name in fields:
        if name not in combined.columns:
            combined = combined.with_columns(pl.lit(None, dtype=pl.Utf8).alias(name))
    return combined.select(fields).sort(fields, nulls_last=True)
