"""Safe tables: the crosstab, each cell's checks, primary and secondary suppression,
rounding, and the two files a researcher gets (the publishable table and its checks).

Layout: rows are the combinations of the index columns (every combination of their
values, as ACRO's crosstab with dropna=False: a combination no row has is a zero cell),
columns are the values of `spec.columns`; with `spec.margins`, a "Total" column (row
totals), a "Total" row (column totals) and the grand total, each checked as a cell.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalink.disclosure.cells import RULE_SECONDARY, measure, rules_failed
from evalink.disclosure.suppression import (
    GRAND_TOTAL_COST,
    TOTAL_COST,
    Relations,
    protect,
)
from evalink.disclosure.thresholds import Thresholds
from evalink.errors import InputError
from evalink.files import atomic_output

TOTAL = "Total"
MAX_INDEX_COLUMNS = 3
# Sums and means are published to this many decimal places (pence, for costs).
DECIMALS = 2

Key = tuple[str, ...]


class Status(StrEnum):
    PUBLISHED = "published"
    SUPPRESSED_PRIMARY = "suppressed_primary"
    SUPPRESSED_SECONDARY = "suppressed_secondary"


@dataclass(frozen=True)
class TableSpec:
    index: tuple[str, ...]  # 1 to 3 columns
    columns: str
    values: str | None = None  # required for sum/mean
    aggfunc: Literal["count", "sum", "mean"] = "count"
    # Count distinct units of this column rather than rows; a magnitude cell's
    # contributors are then the units' totals.
    unit: str | None = None
    margins: bool = True  # publish row and column totals ("Total") and the grand total


@dataclass
class SafeTable:
    spec: TableSpec
    thresholds: Thresholds
    # Every cell of the full table, margins included, long form: the index columns, the
    # columns column, count, value, status, rules. Holds the counts of suppressed cells:
    # for the researcher and the output checkers, never to be published.
    checks: pd.DataFrame
    # The publishable table, wide: the index columns, then one column per column value
    # (and "Total"); suppressed cells empty; counts rounded to the rounding base.
    published: pd.DataFrame
    cell_units: dict[Key, frozenset[str]]  # interior cell key -> the units in it
    population: frozenset[str]  # all units of the table
    # What the audit reasons over: the cells' true values and the totals' equations.
    relations: Relations | None = None
    # "published", "not requested", or why they were withheld.
    margins: str = "not requested"
    rows_without_category: int = 0  # rows left out for a missing index or column value

    def suppressed(self) -> np.ndarray:
        """Boolean mask over `relations.cells`: which are suppressed."""
        names = [*self.spec.index, self.spec.columns]
        keys = self.checks[names].itertuples(index=False, name=None)
        status = dict(zip(keys, self.checks["status"], strict=True))
        assert self.relations is not None
        return np.array([status[k] != Status.PUBLISHED for k in self.relations.cells])

    def write(self, out: Path | str) -> tuple[Path, Path]:
        """Write OUT.csv (publishable) and OUT.checks.csv, each atomically; the checks
        first, so a publishable table never stands without them."""
        out = Path(out)
        checks_path = out.with_name(f"{out.stem}.checks.csv")
        with atomic_output(checks_path) as tmp:
            self.checks.to_csv(tmp, index=False)
        with atomic_output(out) as tmp:
            self.published.to_csv(tmp, index=False)
        return out, checks_path

    def summary(self) -> dict[str, Any]:
        """Aggregates only: how many cells, how many suppressed and why."""
        status = self.checks["status"].value_counts()
        rules: dict[str, int] = {}
        for joined in self.checks["rules"]:
            for rule in filter(None, joined.split(";")):
                rules[rule] = rules.get(rule, 0) + 1
        return {
            "cells": len(self.checks),
            "published": int(status.get(Status.PUBLISHED, 0)),
            "suppressed_primary": int(status.get(Status.SUPPRESSED_PRIMARY, 0)),
            "suppressed_secondary": int(status.get(Status.SUPPRESSED_SECONDARY, 0)),
            "rules": dict(sorted(rules.items())),
            "margins": self.margins,
            "rows_without_category": self.rows_without_category,
            "spec": {**asdict(self.spec), "index": list(self.spec.index)},
            "thresholds": asdict(self.thresholds),
        }


def safe_table(
    data: pd.DataFrame,
    thresholds: Thresholds,
    spec: TableSpec,
    *,
    source: str = "data",
    secondary: bool = True,
) -> SafeTable:
    """The table `spec` asks for over `data`, checked cell by cell and suppressed so that
    no suppressed value can be derived from what is published with it.

    `secondary=False` stops after primary suppression: only for showing what secondary
    suppression prevents (the audit then finds cells an intruder can work out).
    """
    if not isinstance(data, pd.DataFrame) and hasattr(data, "to_pandas"):
        data = data.to_pandas()  # polars or Arrow, as read from a node
    _check_spec(data, spec, source)
    keys = [*spec.index, spec.columns]
    complete = data.dropna(subset=keys)
    if complete.empty:
        raise InputError(f"{source}: no rows with a value in every column of {', '.join(keys)}")
    frame = pd.DataFrame({name: _labels(complete[name]) for name in keys}, index=complete.index)
    levels = [_levels(complete[name]) for name in keys]
    if spec.margins:
        for name, values in zip(keys, levels, strict=True):
            if TOTAL in values:
                raise InputError(
                    f"{source}: column '{name}' has a value '{TOTAL}', the name of the margins; "
                    "rename it or ask for the table without margins"
                )
    unit_column = "__unit__"
    if spec.unit:
        frame[unit_column] = complete[spec.unit].map(str)
    else:
        # No unit: each row is one, named by its label in `data` (or its position).
        labels = complete.index if data.index.is_unique else np.flatnonzero(data.index.notna())
        frame[unit_column] = [str(label) for label in labels]
    values_column = "__value__"
    if spec.values:
        frame[values_column] = _numbers(complete[spec.values])
    measured = _Measured(
        frame, spec, thresholds, unit_column, values_column if spec.values else None
    )

    rows = list(itertools.product(*levels[:-1]))
    columns = levels[-1]
    interior = [(*row, column) for row in rows for column in columns]
    cells = measured.cells(keys, interior)

    margins = "not requested"
    all_keys = list(interior)
    totals: list[tuple[int, tuple[int, ...]]] = []
    if spec.margins:
        k = len(spec.index)
        row_totals = [(*row, TOTAL) for row in rows]
        column_totals = [(*([TOTAL] * k), column) for column in columns]
        grand = (TOTAL,) * (k + 1)
        margin_cells = pd.concat(
            [
                measured.cells(list(spec.index), row_totals),
                measured.cells([spec.columns], column_totals),
                measured.cells([], [grand]),
            ]
        )
        additive = _additive(cells, margin_cells, rows, columns, row_totals, column_totals, grand)
        if spec.aggfunc == "count" and not additive:
            margins = (
                "withheld: a unit falls in more than one cell of a row or column, so the "
                "totals of distinct units are not the sums of the cells"
            )
        else:
            margins = "published"
            cells = pd.concat([cells, margin_cells])
            position = {key: i for i, key in enumerate(cells.index)}
            for row in rows:
                parts = tuple(position[(*row, column)] for column in columns)
                totals.append((position[(*row, TOTAL)], parts))
            for column, total in zip(columns, column_totals, strict=True):
                parts = tuple(position[(*row, column)] for row in rows)
                totals.append((position[total], parts))
            totals.append((position[grand], tuple(position[t] for t in row_totals)))
            totals.append((position[grand], tuple(position[t] for t in column_totals)))
            all_keys = list(cells.index)

    failed = rules_failed(cells, spec.aggfunc, thresholds)
    relations = _relations(cells, spec, thresholds, totals)
    primary = np.array([bool(rules) for rules in failed])
    suppressed = protect(relations, primary) if secondary else primary

    status = [
        Status.SUPPRESSED_PRIMARY if p else Status.SUPPRESSED_SECONDARY if s else Status.PUBLISHED
        for p, s in zip(primary, suppressed, strict=True)
    ]
    rule_text = [
        ";".join(sorted(rules))
        if rules
        else RULE_SECONDARY
        if s is Status.SUPPRESSED_SECONDARY
        else ""
        for rules, s in zip(failed, status, strict=True)
    ]
    value = cells["count"] if spec.aggfunc == "count" else cells[spec.aggfunc]
    checks = pd.DataFrame([list(key) for key in all_keys], columns=[*spec.index, spec.columns])
    checks["count"] = cells["count"].to_numpy(dtype="int64")
    checks["value"] = value.to_numpy(dtype=float)
    checks["status"] = [str(s) for s in status]
    checks["rules"] = rule_text
    checks = _in_reading_order(checks, spec, rows, columns, margins == "published")

    published = _publishable(checks, spec, thresholds, rows, columns, margins == "published")
    cell_units = measured.units(keys, interior)
    return SafeTable(
        spec=spec,
        thresholds=thresholds,
        checks=checks,
        published=published,
        cell_units=cell_units,
        population=frozenset(frame[unit_column]),
        relations=relations,
        margins=margins,
        rows_without_category=len(data) - len(complete),
    )


# --- the input --------------------------------------------------------------------------


def _check_spec(data: pd.DataFrame, spec: TableSpec, source: str) -> None:
    if not 1 <= len(spec.index) <= MAX_INDEX_COLUMNS:
        raise InputError(
            f"{source}: a table has 1 to {MAX_INDEX_COLUMNS} index columns, not {len(spec.index)}"
        )
    if spec.aggfunc not in ("count", "sum", "mean"):
        raise InputError(f"{source}: aggfunc '{spec.aggfunc}' is not one of count, sum, mean")
    named = [*spec.index, spec.columns]
    if len(set(named)) < len(named):
        raise InputError(f"{source}: a column is named twice among the table's index and columns")
    roles = [(name, "index") for name in spec.index] + [(spec.columns, "columns")]
    if spec.values:
        roles.append((spec.values, "values"))
    if spec.unit:
        roles.append((spec.unit, "unit"))
    for name, role in roles:
        if name not in data.columns:
            raise InputError(f"{source}: no column '{name}' (the table's {role} column)")
    if spec.aggfunc == "count" and spec.values:
        raise InputError(
            f"{source}: values column '{spec.values}' given for a count; "
            "ask for aggfunc sum or mean, or leave the values out"
        )
    if spec.aggfunc != "count" and not spec.values:
        raise InputError(f"{source}: aggfunc {spec.aggfunc} needs a values column")
    if spec.values:
        column = data[spec.values]
        if pd.api.types.is_bool_dtype(column) or not (
            pd.api.types.is_numeric_dtype(column) or _all_numbers(column)
        ):
            raise InputError(
                f"{source}: column '{spec.values}' is not numeric, so it cannot be summed"
            )
    if spec.unit:
        missing = int(data[spec.unit].isna().sum())
        if missing:
            raise InputError(
                f"{source}: column '{spec.unit}' (the unit) is missing in {missing} rows; "
                "every row must belong to a unit"
            )


def _all_numbers(column: pd.Series) -> bool:
    converted = pd.to_numeric(column, errors="coerce")
    return bool((converted.notna() | column.isna()).all())


def _numbers(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce").astype(float)


def _labels(column: pd.Series) -> pd.Series:
    return column.astype(object).map(str)


def _levels(column: pd.Series) -> list[str]:
    """A column's values in table order, as strings: a categorical's categories (used or
    not, as pandas' crosstab shows them), else the values present, sorted as pandas would."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(c) for c in column.cat.categories]
    present = pd.unique(column.dropna())
    try:
        ordered = sorted(present)
    except TypeError:
        ordered = sorted(present, key=str)
    labels = list(dict.fromkeys(str(v) for v in ordered))
    return labels


# --- measuring cells --------------------------------------------------------------------


class _Measured:
    def __init__(
        self,
        frame: pd.DataFrame,
        spec: TableSpec,
        thresholds: Thresholds,
        unit: str,
        values: str | None,
    ) -> None:
        self.frame = frame
        self.spec = spec
        self.thresholds = thresholds
        self.unit = unit
        self.values = values

    def cells(self, by: list[str], keys: list[Key]) -> pd.DataFrame:
        frame = self.frame
        if not by:  # the grand total: one group of every row
            frame = frame.assign(__all__=TOTAL)
            by = ["__all__"]
        measured = measure(
            frame,
            by,
            values=self.values,
            unit=self.unit if self.spec.unit else None,
            nk_n=self.thresholds.nk_n,
        )
        wanted = [_group_label(key, by, self.spec) for key in keys]
        if len(by) == 1:
            index: pd.Index = pd.Index(wanted, dtype=object)
        else:
            index = pd.MultiIndex.from_tuples(wanted, names=by)
        measured = measured.reindex(index)
        measured["count"] = measured["count"].fillna(0).astype("int64")
        measured.index = pd.Index(keys, tupleize_cols=False)
        return measured

    def units(self, by: list[str], keys: list[Key]) -> dict[Key, frozenset[str]]:
        grouped = self.frame.groupby(by, sort=False, observed=True)[self.unit]
        found = {tuple(k) if isinstance(k, tuple) else (k,): frozenset(v) for k, v in grouped}
        return {key: found.get(key, frozenset()) for key in keys}


def _group_label(key: Key, by: list[str], spec: TableSpec) -> Any:
    """Which part of a cell's key its group is labelled by, for the columns `by`."""
    if by == ["__all__"]:
        return TOTAL
    if by == [spec.columns]:
        return key[-1]
    if by == list(spec.index):
        parts = key[:-1]
        return parts[0] if len(parts) == 1 else parts
    return key


def _additive(
    cells: pd.DataFrame,
    margin_cells: pd.DataFrame,
    rows: list[Key],
    columns: list[str],
    row_totals: list[Key],
    column_totals: list[Key],
    grand: Key,
) -> bool:
    """Whether every total's count is the sum of its cells' (distinct units partition)."""
    count = cells["count"]
    margin = margin_cells["count"]
    for row, total in zip(rows, row_totals, strict=True):
        if margin[total] != sum(count[(*row, column)] for column in columns):
            return False
    for column, total in zip(columns, column_totals, strict=True):
        if margin[total] != sum(count[(*row, column)] for row in rows):
            return False
    return bool(margin[grand] == count.sum())


def _relations(
    cells: pd.DataFrame,
    spec: TableSpec,
    thresholds: Thresholds,
    totals: list[tuple[int, tuple[int, ...]]],
) -> Relations:
    keys = tuple(cells.index)
    if spec.aggfunc == "count":
        value = cells["count"].to_numpy(dtype=float)
        lower = np.zeros(len(keys))
        needed = np.full(len(keys), float(thresholds.min_count))
    else:
        # Means are not additive; their cells are protected by the pattern that protects
        # the sums of the same cells.
        value = cells["sum"].fillna(0.0).to_numpy(dtype=float)
        lower = np.where(cells["negatives"].fillna(0).to_numpy() > 0, -np.inf, 0.0)
        largest = cells["largest_abs"].max(skipna=True)
        largest = 0.0 if largest is None or math.isnan(largest) else float(largest)
        # tau-ARGUS's convention: protect p% of the cell's value; and at least p% of the
        # largest single contribution in the table, so that a small (or zero) sum is
        # never pinned down to less than what one large contributor could hide.
        needed = thresholds.p_ratio / 100.0 * np.maximum(np.abs(value), largest)
    weight = np.ones(len(keys))
    for total, _parts in totals:
        weight[total] = TOTAL_COST
    if totals:
        weight[totals[-1][0]] = GRAND_TOTAL_COST
    return Relations(keys, value, lower, needed, tuple(totals), weight)


# --- the two outputs --------------------------------------------------------------------


def _in_reading_order(
    checks: pd.DataFrame, spec: TableSpec, rows: list[Key], columns: list[str], margins: bool
) -> pd.DataFrame:
    """Row by row, each row's cells then its total; the totals row last."""
    keyed = checks.set_index([*spec.index, spec.columns], drop=False)
    order: list[Key] = []
    shown = [*columns, TOTAL] if margins else columns
    for row in [*rows, *([(TOTAL,) * len(spec.index)] if margins else [])]:
        order.extend((*row, column) for column in shown)
    index = pd.MultiIndex.from_tuples(order) if len(order[0]) > 1 else order
    return keyed.loc[index].reset_index(drop=True)


def _publishable(
    checks: pd.DataFrame,
    spec: TableSpec,
    thresholds: Thresholds,
    rows: list[Key],
    columns: list[str],
    margins: bool,
) -> pd.DataFrame:
    shown = [*columns, TOTAL] if margins else list(columns)
    value = checks["value"].where(checks["status"] == Status.PUBLISHED)
    if spec.aggfunc == "count":
        value = _rounded(value, thresholds.rounding_base)
    else:
        value = value.round(DECIMALS)
    wide = checks[[*spec.index, spec.columns]].assign(__value__=value)
    table = wide.pivot(index=list(spec.index), columns=spec.columns, values="__value__")
    ordered_rows = [*rows, *([(TOTAL,) * len(spec.index)] if margins else [])]
    if len(spec.index) == 1:
        table = table.reindex(index=[r[0] for r in ordered_rows], columns=shown)
    else:
        table = table.reindex(index=pd.MultiIndex.from_tuples(ordered_rows), columns=shown)
    table.index.names = list(spec.index)
    table.columns.name = None
    table = table.reset_index()
    if spec.aggfunc == "count":
        for column in shown:
            table[column] = table[column].astype("Int64")
    return table


def _rounded(value: pd.Series, base: int) -> pd.Series:
    """To the nearest multiple of `base`, halves up; a count that passed the checks is
    never shown as zero (with a base above twice the threshold it would be)."""
    rounded = np.floor(value / base + 0.5) * base
    return rounded.where(~((value > 0) & (rounded == 0)), float(base))
