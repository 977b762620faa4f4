"""Project pseudonyms: a keyed hash (HMAC-SHA256) of the reference number.

Each project gets its own random key, so two projects' pseudonyms for one person differ
and their datasets cannot be joined; without the key a pseudonym cannot be recomputed
from a reference number, and reference numbers are themselves random.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import polars as pl

PROJECT_KEY_BYTES = 32
# 20 hex digits = 80 bits: collisions stay below one in a billion for ten million people.
PSEUDONYM_HEX_DIGITS = 20


def new_project_key() -> bytes:
    return secrets.token_bytes(PROJECT_KEY_BYTES)


def pseudonym(reference_number: str, key: bytes) -> str:
    digest = hmac.new(key, reference_number.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_DIGITS]


def pseudonymise(column: pl.Expr, key: bytes) -> pl.Expr:
    """The pseudonym of every value of a reference-number column (nulls stay null)."""
    return column.map_elements(lambda value: pseudonym(value, key), return_dtype=pl.Utf8)
