"""A byte scan of every file under a node's directory for the cohort's values.

What is looked for, and why that is meaningful:

- names, addresses, postcodes, National Insurance numbers and reference numbers of at
  least `RAW_MIN_LENGTH` characters, as the council held them, in upper case, and
  compacted as `evalink.assemble.scan` compares them (no spaces: 'B693DL');
- as whole tokens only: the bytes before and after a match are not a letter or digit
  (nor part of a UTF-8 character), so 'Ali' is not found inside 'Alison', nor a
  4-letter name inside a run of hex or base64 (hashes, signatures, wrapped keys);
- with case: 'Read' the surname is not the audit log's action 'read'.

Dates of birth are not looked for in raw bytes: every node's audit log and receipts
are full of dates (when a package arrived, when a part is due), which a byte scan
cannot tell from a birth date. They are compared in datasets instead (cohort.py).

What is not scanned, and why: the node's sealed policy (its SHA-256 is checked against
the fingerprint sealed in the key ring whenever the node opens: it is the published
policy, whose contact names are no one's data), and ciphertext — a DuckDB database
that DuckDB itself refuses to open without a key, with its write-ahead log, and the
sealed body of a package (its clear header is scanned). Random bytes match a short
name by chance every few megabytes; what ciphertext holds is checked by reading the
datasets through the node's keys instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from evalink.node import package as pkg
from evalink.promises.cohort import DATE_OF_BIRTH

RAW_MIN_LENGTH = 4
# Bytes that end a token: not an ASCII letter or digit, nor a byte of a multi-byte
# UTF-8 character (read as Latin-1, each byte is one character U+0000..U+00FF).
_BETWEEN_TOKENS = r"[^A-Za-z0-9\x80-\xff]+"
SEALED_POLICY = "policy.yaml"


@dataclass
class RawScan:
    """What a scan of one node's directory looked at and found (values stay in memory)."""

    files: int = 0
    scanned_bytes: int = 0
    sealed: list[str] = field(default_factory=list)  # ciphertext, not scanned
    found: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"file": pl.Utf8, "field": pl.Utf8, "value": pl.Utf8}
        )
    )

    def of(self, wanted: pl.DataFrame) -> pl.DataFrame:
        """The hits among these wanted values (field, value): file, field, value."""
        return self.found.join(wanted.select("field", "value").unique(), on=["field", "value"])


def patterns(values: pl.DataFrame) -> pl.DataFrame:
    """The byte patterns for cohort values (field, raw, value): pattern, field, value."""
    wanted = values.filter(pl.col("field") != DATE_OF_BIRTH).select("field", "raw", "value")
    forms = pl.concat(
        [
            wanted.select("field", "value", pl.col("raw").alias("form")),
            wanted.select("field", "value", pl.col("raw").str.to_uppercase().alias("form")),
            wanted.select("field", "value", pl.col("value").alias("form")),
        ]
    ).unique()
    as_bytes = [form.encode("utf-8").decode("latin-1") for form in forms["form"]]
    return (
        forms.with_columns(pl.Series("form", as_bytes))
        .with_columns(_tokens(pl.col("form")).alias("pattern"))
        .filter(pl.col("pattern").str.len_chars() >= RAW_MIN_LENGTH + 2)
        .select("pattern", "field", "value")
        .unique()
    )


def _tokens(text: pl.Expr) -> pl.Expr:
    """Tokens joined by single spaces, with a space either side: a whole-token match is
    then a plain substring match."""
    return " " + text.str.replace_all(_BETWEEN_TOKENS, " ").str.strip_chars(" ") + " "


def scan_directory(directory: Path, wanted: pl.DataFrame) -> RawScan:
    """Scan every file under `directory` for the patterns of `wanted` (see `patterns`)."""
    result = RawScan()
    contents: list[str] = []
    names: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = str(path.relative_to(directory))
        result.files += 1
        if relative == SEALED_POLICY:
            continue
        data = _clear_bytes(path)
        if data is None:
            result.sealed.append(relative)
            continue
        result.scanned_bytes += len(data)
        names.append(relative)
        contents.append(data.decode("latin-1"))
    table = patterns(wanted)
    if not contents or table.height == 0:
        return result
    matched = (
        pl.DataFrame({"file": names, "text": contents})
        .select(
            "file",
            _tokens(pl.col("text"))
            .str.extract_many(table["pattern"].to_list(), overlapping=True)
            .alias("pattern"),
        )
        .explode("pattern")
        .drop_nulls("pattern")
    )
    result.found = matched.join(table, on="pattern").select("file", "field", "value").unique()
    return result


def _clear_bytes(path: Path) -> bytes | None:
    """The bytes of a file that are not ciphertext, or None if all of it is."""
    if path.suffix == pkg.SUFFIX:
        try:
            return pkg.read_header(path).raw
        except pkg.PackageRefused:
            return path.read_bytes()  # not a sealed package: all of it may be clear
    if path.name.endswith(".duckdb.wal") and is_encrypted_database(path.with_suffix("")):
        return None
    if path.suffix == ".duckdb" and is_encrypted_database(path):
        return None
    return path.read_bytes()


def is_encrypted_database(path: Path) -> bool:
    """DuckDB's own judgement: it refuses to open the file without its key."""
    if not path.is_file():
        return False
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS probe (READ_ONLY)")
    except duckdb.Error as error:
        return "encrypt" in str(error).lower()
    finally:
        con.close()
    return False
