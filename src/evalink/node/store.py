"""Encrypted DuckDB databases: the one place evalink opens DuckDB with a key.

DuckDB encrypts a database file (and, here, its WAL and temporary files) with AES-GCM
under one key per file. Writing encrypted files needs the httpfs extension's crypto,
which cannot be downloaded at run time: it is loaded from the pinned PyPI package
`duckdb-ext-httpfs`, and DuckDB is told never to fetch or auto-load extensions.

Other stages do not call this directly: they use `Node.write_dataset`, `read_dataset`
and `query`, which pick the right key and write the audit entry.
"""

from __future__ import annotations

import base64
import pathlib
import re
from functools import cache
from pathlib import Path

import duckdb

from evalink.errors import EvalinkError

_ALIAS = re.compile(r"^[a-z_][a-z0-9_]*$")


@cache
def httpfs_extension() -> Path:
    try:
        import duckdb_ext
    except ImportError:
        raise EvalinkError(
            "package duckdb-ext-httpfs is not installed; it is needed for encryption at rest"
        ) from None
    version = duckdb.__version__
    found = sorted(pathlib.Path(duckdb_ext.__path__[0]).rglob("httpfs.duckdb_extension"))
    matching = [p for p in found if f"v{version}" in p.parts] or found
    if not matching:
        raise EvalinkError("httpfs extension file not found in package duckdb-ext-httpfs")
    return matching[0]


def connect(temp_directory: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection able to attach encrypted files.

    Temporary files (spilled sorts and joins) are written to `temp_directory`, inside the
    node, and encrypted: otherwise a large join could leave clear data in /tmp.
    """
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute(f"LOAD '{_quote(str(httpfs_extension()))}'")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{_quote(str(temp_directory))}'")
    con.execute("SET temp_file_encryption = true")
    return con


def attach(
    con: duckdb.DuckDBPyConnection, path: Path, key: bytes, alias: str, *, read_only: bool = False
) -> None:
    """Attach an encrypted database file under `alias`, creating it if absent."""
    if not _ALIAS.match(alias):
        raise ValueError(f"bad alias {alias!r}")
    options = f"ENCRYPTION_KEY '{key_text(key)}'" + (", READ_ONLY" if read_only else "")
    try:
        con.execute(f"ATTACH '{_quote(str(path))}' AS {alias} ({options})")
    except duckdb.Error as error:
        text = str(error)
        if "encryption key" in text.lower() or "encrypt" in text.lower():
            raise EvalinkError(f"{path}: cannot decrypt (wrong key or damaged file)") from None
        raise EvalinkError(f"{path}: cannot open database ({type(error).__name__})") from None


def key_text(key: bytes) -> str:
    # DuckDB takes the key as a string; base64 of 32 random bytes keeps all 256 bits.
    return base64.b64encode(key).decode("ascii")


def _quote(text: str) -> str:
    return text.replace("'", "''")
