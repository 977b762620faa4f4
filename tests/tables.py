"""Small tables written as text, for spec tests that read as documentation.

    table('''
        person | family | dob
        p1     | f1     | 2010-01-01
    ''')

Cells are strings; `-` is missing; columns named in `dates` are parsed as dates.
"""

from __future__ import annotations

from datetime import date

import polars as pl


def table(text: str, *, dates: tuple[str, ...] = (), numbers: tuple[str, ...] = ()) -> pl.DataFrame:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[1:]]
    columns: dict[str, list] = {name: [] for name in header}
    for row in rows:
        for name, cell in zip(header, row, strict=True):
            value: object = None if cell == "-" else cell
            if value is not None and name in dates:
                value = date.fromisoformat(cell)
            elif value is not None and name in numbers:
                value = float(cell)
            columns[name].append(value)
    schema = {
        name: pl.Date if name in dates else pl.Float64 if name in numbers else pl.Utf8
        for name in header
    }
    return pl.DataFrame(columns, schema=schema)
