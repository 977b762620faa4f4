"""Shared helpers for turning true events into a source's or department's records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from evalink.synth.calendar import STUDY_END
from evalink.synth.households import People
from evalink.synth.identities import Identities
from evalink.synth.noise import NoiseProfile, noisy_identifiers
from evalink.synth.places import Addresses


@dataclass
class World:
    """Everything generated so far that a source needs to make its records."""

    people: People
    ids: Identities
    addresses: Addresses


@dataclass
class Records:
    """A table to write and, row for row, the true person behind each record."""

    table: pl.DataFrame
    person: np.ndarray  # int64, aligned with table rows; -1 for rows that are not a person


def record_ids(rng: np.random.Generator, prefix: str, n: int, width: int = 8) -> tuple[pl.Series, np.ndarray]:
    """n distinct ids like 'POL00412345' and their numbers, numbered in a random order.

    Numbers come from a random permutation so an id says nothing about who or when;
    tables are sorted by id (that is, by number: the width is fixed), so row order says
    nothing either.
    """
    width = max(width, len(str(max(n - 1, 0))))
    numbers = rng.permutation(n)
    return prefixed(prefix, numbers, width).alias("record_id"), numbers


def prefixed(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    digits = pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix, dtype=pl.String) + pl.lit(digits)).to_series()


def dates(days: np.ndarray, open_ended: bool = False) -> pl.Series:
    """Days → Arrow date32; with `open_ended`, days at or past the study end → null (ongoing)."""
    s = pl.Series(days.astype("datetime64[D]"))
    if open_ended:
        s = s.set(pl.Series(days >= STUDY_END), None)
    return s.cast(pl.Date)


def per_person_copies(
    rng: np.random.Generator,
    world: World,
    person: np.ndarray,
    first_day: np.ndarray,
    profile: NoiseProfile,
    duplicate_share: float,
) -> pl.DataFrame:
    """Identifiers for each row of a service's extract.

    A service keeps one record per person (its own noisy copy), and for a few people
    two (a duplicate registration); every row about that person repeats one of them.
    `person` must be sorted; `first_day` is each row's date (NINO known only if 16+
    when the service first recorded them).
    """
    uniq, first_row, inverse = np.unique(person, return_index=True, return_inverse=True)
    has_dup = rng.random(len(uniq)) < duplicate_share
    dup_of = np.flatnonzero(has_dup)
    copy_person = np.concatenate([uniq, uniq[dup_of]])
    copy_day = np.concatenate([first_day[first_row], first_day[first_row][dup_of]])
    copies = noisy_identifiers(rng, copy_person, world.people, world.ids, world.addresses, profile, copy_day)
    dup_index = np.full(len(uniq), -1, dtype=np.int64)
    dup_index[dup_of] = len(uniq) + np.arange(len(dup_of))
    use_dup = (dup_index[inverse] >= 0) & (rng.random(len(person)) < 0.5)
    row_copy = np.where(use_dup, dup_index[inverse], inverse)
    return copies[row_copy]


def finish(rng: np.random.Generator, prefix: str, identifiers: pl.DataFrame | None, fields: pl.DataFrame, person: np.ndarray) -> Records:
    """Add record ids, put identifier columns first, sort by record id."""
    n = fields.height
    ids, numbers = record_ids(rng, prefix, n)
    parts = [ids.to_frame()]
    if identifiers is not None:
        parts.append(identifiers)
    parts.append(fields)
    table = pl.concat(parts, how="horizontal")
    order = np.argsort(numbers, kind="stable")
    return Records(table[order], person[order])
