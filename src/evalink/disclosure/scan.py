"""What can be checked of a publishable table on its own, without the data behind it:
the public node's last look at every table it receives."""

from __future__ import annotations

import math

import pandas as pd

from evalink.disclosure.table import TableSpec
from evalink.disclosure.thresholds import Thresholds


def scan_published(published: pd.DataFrame, spec: TableSpec, thresholds: Thresholds) -> list[str]:
    """One line per problem the table shows: a count under the threshold, a count not a
    multiple of the rounding base, a zero while zeros are disclosive, a cell that is not
    a number. Cells are named by their row and column labels (aggregates, not people).
    Empty cells are suppressed ones and are fine. Sums and means carry no counts: of
    them only zeros are visible."""
    problems: list[str] = []
    missing = [name for name in spec.index if name not in published.columns]
    if missing:
        return [f"the table has no index column '{missing[0]}'"]
    value_columns = [name for name in published.columns if name not in spec.index]
    for _, row in published.iterrows():
        labels = ", ".join(f"{name}={row[name]}" for name in spec.index)
        for column in value_columns:
            cell = row[column]
            if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA:
                continue
            where = f"cell ({labels}, {spec.columns}={column})"
            number = pd.to_numeric(pd.Series([cell]), errors="coerce").iloc[0]
            if pd.isna(number):
                problems.append(f"{where}: not a number")
                continue
            number = float(number)
            if number == 0 and thresholds.zeros_disclosive:
                problems.append(f"{where}: a zero, and zeros are disclosive (rule 'zero')")
            if spec.aggfunc != "count":
                continue
            if number < thresholds.min_count:
                problems.append(
                    f"{where}: count {number:g} is under the threshold {thresholds.min_count} "
                    "(rule 'threshold')"
                )
            if number % thresholds.rounding_base != 0:
                problems.append(
                    f"{where}: count {number:g} is not a multiple of {thresholds.rounding_base} "
                    "(rule 'rounding')"
                )
    return problems
