"""Reading tables in and writing outputs atomically.

Outputs are written to a temporary file beside the target and renamed into place, so a
crash or a refused input never leaves a half-written file where a user expects a result.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from collections.abc import Collection, Iterator
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


def read_table(
    path: Path | str,
    *,
    all_strings: bool = False,
    encoding: str = "utf-8",
    encoding_scope: str | None = None,
    known_columns: Collection[str] = (),
) -> pa.Table:
    """Read a Parquet or CSV file.

    With `all_strings`, CSV columns are read as text so identifiers such as `007` or a
    NINO are never reinterpreted as numbers; Parquet keeps its own schema. `encoding`
    is the CSV's text encoding (Parquet is always UTF-8); a UTF-8 byte-order mark is
    accepted and dropped. `encoding_scope` says where the user sets the encoding (e.g.
    "for source 'police' in the mapping"), for the advice when a byte does not decode.

    A column name used twice, or a byte the encoding cannot decode (with its line), is
    refused with one line naming the file. The repeated name is shown only if it is one
    of `known_columns` (names the caller expects, e.g. the mapping's): a file exported
    without its header row has someone's data where the names should be.
    """
    path = Path(path)
    kind = table_format(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        if kind == "parquet":
            # The schema alone first: a duplicated name is named before any data is read.
            _refuse_duplicate_columns(path, pq.read_schema(path).names, "schema", known_columns)
            return pq.read_table(path)
        return _read_csv(path, all_strings, encoding, encoding_scope, known_columns)
    except InputError:
        raise
    except (pa.ArrowException, OSError, UnicodeDecodeError, StopIteration) as error:
        # Arrow's messages can quote cell values, which may be personal data: keep only
        # the kind of failure.
        raise InputError(f"{path}: cannot read as {kind} ({type(error).__name__})") from error


_UTF8_BOM = codecs.BOM_UTF8
_UTF8 = ("utf-8", "utf-8-sig")


def text_encoding(name: str) -> str:
    """Python's name for a text encoding; LookupError if Python knows no such one."""
    codec = codecs.lookup(name)
    "".encode(codec.name)  # LookupError for codecs that are not text ('base64', 'rot13')
    return codec.name


def _read_csv(
    path: Path,
    all_strings: bool,
    encoding: str,
    encoding_scope: str | None,
    known_columns: Collection[str],
) -> pa.Table:
    try:
        codec = text_encoding(encoding)
    except LookupError:
        raise InputError(f"{path}: unknown text encoding '{encoding}'") from None
    utf8 = codec in _UTF8
    with path.open("rb") as handle:
        starts_with_bom = handle.read(len(_UTF8_BOM)) == _UTF8_BOM
    if starts_with_bom and not utf8:
        # Read as anything else, the mark would become part of the first column's name.
        raise InputError(
            f"{path}: starts with a UTF-8 byte-order mark (Excel's 'CSV UTF-8'), so it is "
            f"UTF-8, not {encoding}; read it as utf-8"
            + (f" (remove `encoding: {encoding}` {encoding_scope})" if encoding_scope else "")
        )
    try:
        # utf-8-sig drops the byte-order mark, as Arrow does, so the names agree.
        with path.open(newline="", encoding="utf-8-sig" if utf8 else codec) as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise InputError(f"{path}: empty file, no header row")
        _refuse_duplicate_columns(path, header, "header", known_columns)
        convert = pacsv.ConvertOptions(strings_can_be_null=True)
        if all_strings:
            convert = pacsv.ConvertOptions(
                strings_can_be_null=True, column_types={name: pa.string() for name in header}
            )
        # Arrow reads UTF-8 itself (and drops the mark); any other encoding it transcodes
        # through Python's codec as it reads.
        read = pacsv.ReadOptions(encoding="utf8" if utf8 else codec)
        table = pacsv.read_csv(path, read_options=read, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        _refuse_undecodable(path, codec, encoding_scope)
        raise
    # Where it infers types, Arrow makes a column holding invalid UTF-8 binary rather
    # than failing: that too is a byte the encoding does not allow.
    if utf8 and any(
        pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types
    ):
        _refuse_undecodable(path, codec, encoding_scope)
    return table


def _refuse_duplicate_columns(
    path: Path, names: list[str], where: str, known_columns: Collection[str]
) -> None:
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(position)
    repeated = [(name, at) for name, at in positions.items() if len(at) > 1]
    if repeated:
        name, at = repeated[0]
        times = "twice" if len(at) == 2 else f"{len(at)} times"
        columns = ", ".join(map(str, at[:-1])) + f" and {at[-1]}"
        more = f"; {len(repeated) - 1} other names are repeated too" if len(repeated) > 1 else ""
        named = f"column '{name}'" if name in known_columns else "one column"
        raise InputError(
            f"{path}: the {where} names {named} {times} (columns {columns}){more}; "
            "give each column its own name"
        )


def _refuse_undecodable(path: Path, codec: str, encoding_scope: str | None) -> None:
    """Raise naming the first byte `codec` cannot decode and its line; return if none."""
    found = _first_undecodable_byte(path, codec)
    if found is None:
        return
    line, byte = found
    if encoding_scope is None:
        advice = "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    elif codec in _UTF8:
        advice = f"set `encoding: cp1252` {encoding_scope} if the file came from Excel on Windows"
    else:
        advice = f"set `encoding:` {encoding_scope} to the encoding the file was saved in"
    # The line number and the byte only: the line itself is someone's record.
    raise InputError(f"{path}: line {line}: byte 0x{byte:02x} is not valid {codec}; {advice}")


def _first_undecodable_byte(
    path: Path | str, encoding: str, *, chunk_size: int = 1 << 24
) -> tuple[int, int] | None:
    """(1-based physical line, byte value) of the first byte `encoding` cannot decode.

    Decoded in chunks by the codec's incremental decoder, so memory stays flat for a
    file of any size and the work is done in C; only newlines are counted.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = 0
    with Path(path).open("rb") as handle:
        while True:
            chunk = handle.read(chunk_size)
            try:
                newlines += decoder.decode(chunk, final=not chunk).count("\n")
            except UnicodeDecodeError as error:
                # error.object is what the decoder was given: bytes held back from the
                # previous chunk (a character split across chunks) and then this chunk.
                before = error.object[: error.start]
                newlines += before.decode(encoding, errors="ignore").count("\n")
                return newlines + 1, error.object[error.start]
            if not chunk:
                return None


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
