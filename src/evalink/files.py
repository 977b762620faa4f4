"""Reading tables in and writing outputs atomically.

Outputs are written to a temporary file beside the target and renamed into place, so a
crash or a refused input never leaves a half-written file where a user expects a result.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from evalink.errors import InputError

TABLE_SUFFIXES = (".parquet", ".csv")


def table_format(path: Path) -> str:
    """'parquet' or 'csv', from the file's extension."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type '{suffix or '(none)'}'; use .parquet or .csv"
        )
    return suffix[1:]


def read_table(path: Path | str, *, all_strings: bool = False) -> pa.Table:
    """Read a Parquet or CSV file.

    With `all_strings`, CSV columns are read as text so identifiers such as `007` or a
    NINO are never reinterpreted as numbers; Parquet keeps its own schema.
    """
    path = Path(path)
    kind = table_format(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        if kind == "parquet":
            return pq.read_table(path)
        convert = pacsv.ConvertOptions(strings_can_be_null=True)
        if all_strings:
            with path.open(newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), None)
            if not header:
                raise InputError(f"{path}: empty file, no header row")
            convert = pacsv.ConvertOptions(
                strings_can_be_null=True, column_types={name: pa.string() for name in header}
            )
        return pacsv.read_csv(path, convert_options=convert)
    except InputError:
        raise
    except (pa.ArrowException, OSError, UnicodeDecodeError, StopIteration) as error:
        # Arrow's messages can quote cell values, which may be personal data: keep only
        # the kind of failure.
        raise InputError(f"{path}: cannot read as {kind} ({type(error).__name__})") from error


@contextmanager
def atomic_output(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path | str, content: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(content)


def write_text_atomic(path: Path | str, content: str) -> None:
    write_bytes_atomic(path, content.encode("utf-8"))


def write_table(table: pa.Table, path: Path | str) -> None:
    """Write Parquet or CSV (by extension), atomically."""
    path = Path(path)
    kind = table_format(path)
    with atomic_output(path) as tmp:
        if kind == "parquet":
            pq.write_table(table, tmp)
        else:
            pacsv.write_csv(table, tmp)
