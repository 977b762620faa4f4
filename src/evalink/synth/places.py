"""Addresses and UK-format postcodes.

The council's families live in its own postcode districts (Sandwell's: B64-B71, DY4,
WS10); a share of the wider population lives there too, the rest across England, so a
department cannot tell the council's residents apart by postcode alone. A postcode unit
holds a street; about a dozen households share a unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from evalink.synth.names import tables

COUNCIL_DISTRICTS = (
    ("B64", "Cradley Heath"), ("B65", "Rowley Regis"), ("B66", "Smethwick"),
    ("B67", "Smethwick"), ("B68", "Oldbury"), ("B69", "Oldbury"), ("B70", "West Bromwich"),
    ("B71", "West Bromwich"), ("DY4", "Tipton"), ("WS10", "Wednesbury"),
)  # fmt: skip
OTHER_DISTRICTS = (
    ("B1", "Birmingham"), ("B23", "Erdington"), ("B11", "Sparkhill"), ("WV1", "Wolverhampton"),
    ("WV10", "Wolverhampton"), ("DY1", "Dudley"), ("WS1", "Walsall"), ("CV1", "Coventry"),
    ("M1", "Manchester"), ("M8", "Manchester"), ("L4", "Liverpool"), ("LS9", "Leeds"),
    ("BD3", "Bradford"), ("S2", "Sheffield"), ("NG7", "Nottingham"), ("LE4", "Leicester"),
    ("BS5", "Bristol"), ("E1", "London"), ("N17", "London"), ("SE15", "London"),
    ("NE6", "Newcastle upon Tyne"), ("HU3", "Hull"), ("ST4", "Stoke-on-Trent"), ("PL2", "Plymouth"),
    ("LU1", "Luton"), ("SL1", "Slough"), ("BB1", "Blackburn"), ("OL1", "Oldham"),
)  # fmt: skip
# Share of the wider population (not the council's families) living in the council area.
POPULATION_IN_COUNCIL_AREA = 0.15
HOUSEHOLDS_PER_UNIT = 12
FLAT_SHARE = 0.12
# Share of households that moved during the study window (sources may hold the old address).
MOVED_COUNCIL = 0.25
MOVED_POPULATION = 0.15

_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
_STREET_ROOTS = ["Oak", "Elm", "Ash", "Birch", "Beech", "Willow", "Cedar", "Holly", "Hawthorn", "Rowan", "Chestnut", "Maple", "Hazel", "Poplar", "Church", "Mill", "Park", "Station", "Victoria", "Albert", "Queens", "Kings", "New", "High", "Green", "Hill", "Meadow", "Brook", "Springfield", "Grange", "Manor", "Vicarage", "School", "Bridge", "Canal", "Farm", "Orchard", "Tudor", "Windsor"]
_STREET_SUFFIXES = ["Road", "Street", "Avenue", "Close", "Lane", "Drive", "Way", "Grove", "Crescent", "Place", "Gardens", "Walk"]


@dataclass
class Addresses:
    """Per household: current and previous address line and postcode (numpy strings)."""

    address: np.ndarray
    postcode: np.ndarray
    previous_address: np.ndarray
    previous_postcode: np.ndarray
    moved: np.ndarray
    in_council_area: np.ndarray

    def series(self, name: str) -> pl.Series:
        """A column as a Polars string Series, converted once and cached."""
        cache = self.__dict__.setdefault("_series", {})
        if name not in cache:
            cache[name] = pl.Series(getattr(self, name).astype(str), dtype=pl.String)
        return cache[name]


def _units(rng: np.random.Generator, districts, n_units: int):
    d = rng.integers(0, len(districts), size=n_units)
    outward = np.array([x[0] for x in districts])[d]
    town = np.array([x[1] for x in districts])[d]
    inward = (
        rng.integers(1, 10, size=n_units).astype(str).astype(object)
        + _INWARD_LETTERS[rng.integers(0, 20, size=n_units)].astype(object)
        + _INWARD_LETTERS[rng.integers(0, 20, size=n_units)].astype(object)
    )
    postcode = outward.astype(object) + " " + inward
    # Street names mix common roots with surnames, as British streets do.
    surnames = tables().surnames["white_british"][:120]
    vocab = np.array(tables().vocab, dtype=object)
    roots = np.concatenate([np.array(_STREET_ROOTS, dtype=object), vocab[surnames]])
    street = roots[rng.integers(0, len(roots), size=n_units)] + " " + np.array(_STREET_SUFFIXES, dtype=object)[rng.integers(0, len(_STREET_SUFFIXES), size=n_units)]
    return postcode, street, town.astype(object)


def _draw(rng: np.random.Generator, in_council: np.ndarray):
    n = len(in_council)
    n_c = int(in_council.sum())
    pc_c, st_c, tw_c = _units(rng, COUNCIL_DISTRICTS, max(1, n_c // HOUSEHOLDS_PER_UNIT + 1))
    pc_o, st_o, tw_o = _units(rng, OTHER_DISTRICTS, max(1, (n - n_c) // HOUSEHOLDS_PER_UNIT + 1))
    u_c = rng.integers(0, len(pc_c), size=n)
    u_o = rng.integers(0, len(pc_o), size=n)
    postcode = np.where(in_council, pc_c[u_c], pc_o[u_o])
    street = np.where(in_council, st_c[u_c], st_o[u_o])
    town = np.where(in_council, tw_c[u_c], tw_o[u_o])
    # House numbers are distinct within a postcode unit (its k-th household gets a number
    # in 3k+1..3k+3), so two households never share an address by accident.
    unit = np.where(in_council, u_c, len(pc_c) + u_o)
    order = np.argsort(unit, kind="stable")
    sorted_unit = unit[order]
    starts = np.flatnonzero(np.r_[True, sorted_unit[1:] != sorted_unit[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    number = (1 + 3 * rank + rng.integers(0, 3, size=n)).astype(str).astype(object)
    flat = rng.random(n) < FLAT_SHARE
    flat_no = rng.integers(1, 24, size=n).astype(str).astype(object)
    prefix = np.where(flat, "Flat " + flat_no + ", ", "")
    address = prefix + number + " " + street + ", " + town
    return address, postcode


def make_addresses(rng: np.random.Generator, n_households: int, n_council: int) -> Addresses:
    council = np.arange(n_households) < n_council
    in_area = council | (rng.random(n_households) < POPULATION_IN_COUNCIL_AREA)
    address, postcode = _draw(rng, in_area)
    # Most moves are local: a family that moved mostly stayed in the same area.
    prev_in_area = np.where(rng.random(n_households) < 0.8, in_area, ~in_area)
    prev_address, prev_postcode = _draw(rng, prev_in_area)
    moved = rng.random(n_households) < np.where(council, MOVED_COUNCIL, MOVED_POPULATION)
    prev_address = np.where(moved, prev_address, address)
    prev_postcode = np.where(moved, prev_postcode, postcode)
    return Addresses(address, postcode, prev_address, prev_postcode, moved, in_area)
