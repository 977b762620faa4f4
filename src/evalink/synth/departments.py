"""The departments' data: everyone in the population, with each department's own noise.

Each department has a person file (`persons.parquet`, the linkage contract's columns,
one row per person, `record_id` being the department's own person reference) and event
tables keyed by that `record_id`, so that once a cohort member is matched to a
department's person the department can return that person's outcome records.

At national scale these tables have tens of millions of rows, so they are built and
written in fixed-size parts (the part size is a constant, so the bytes do not depend
on the machine). A department's record number is the row's position in its sorted
person file: output row k holds the person perm[k], so the file is sorted by id by
construction and each part can be made on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from evalink.synth.calendar import SNAPSHOT_DATE
from evalink.synth.noise import NoiseProfile, noisy_identifiers
from evalink.synth.outcomes import BENEFITS, DISPOSALS, SENTENCES, terms
from evalink.synth.records import World, dates, prefixed

PART_ROWS = 1 << 21  # rows per part written; fixed, so output bytes never depend on memory

PROFILES: dict[str, NoiseProfile] = {
    # DWP's Customer Information System: NINO-keyed, capitals, old surnames kept.
    "dwp": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.01, transliteration=0.10, called_name=0.2,
        alt_surname=0.25, name_swap=0.005, moved_address=0.25, dob_swap=0.003, dob_off_by_one=0.003,
        dob_placeholder=0.001, dob_missing=0.0, sex_missing=0.0, nino_recorded=0.98, nino_typo=0.002,
        nino_format=0.05, upper_case=1.0, strip_punctuation=0.3, strip_diacritics=1.0,
    ),
    # Police National Computer via MoJ: aliases, swapped names, uncertain dates of birth.
    "moj": NoiseProfile(
        forename_typo=0.03, surname_typo=0.03, nickname=0.20, transliteration=0.25, called_name=0.5,
        alt_surname=0.25, name_swap=0.03, moved_address=0.45, dob_swap=0.03, dob_off_by_one=0.04,
        dob_placeholder=0.01, dob_missing=0.01, nino_recorded=0.40, nino_typo=0.02, upper_case=0.8,
    ),
    # National Pupil Database: no NINO, school-census names and addresses.
    "dfe": NoiseProfile(
        forename_typo=0.01, surname_typo=0.01, nickname=0.03, transliteration=0.10, called_name=0.6,
        alt_surname=0.10, name_swap=0.005, moved_address=0.35, dob_swap=0.003, dob_off_by_one=0.003,
        dob_placeholder=0.0, dob_missing=0.0, sex_missing=0.0, nino_recorded=0.0,
    ),
}  # fmt: skip
PREFIX = {"dwp": "CIS", "moj": "PNC", "dfe": "UPN"}
ID_WIDTH = 9


@dataclass
class PersonFile:
    """A department's person file, to be written part by part."""

    department: str
    world: World
    rng: np.random.Generator
    perm: np.ndarray  # output row k holds person perm[k]
    numbers: np.ndarray  # per person: the department's record number

    @property
    def rows(self) -> int:
        return len(self.perm)

    def record_id(self, person: np.ndarray) -> pl.Series:
        return prefixed(PREFIX[self.department], self.numbers[person], ID_WIDTH).alias("record_id")

    def parts(self) -> Iterator[pl.DataFrame]:
        for start in range(0, self.rows, PART_ROWS):
            who = self.perm[start : start + PART_ROWS]
            identifiers = noisy_identifiers(
                self.rng, who, self.world.people, self.world.ids, self.world.addresses,
                PROFILES[self.department], SNAPSHOT_DATE,
            )  # fmt: skip
            yield pl.concat([self.record_id(who).to_frame(), identifiers], how="horizontal")


def person_file(rng: np.random.Generator, noise_rng: np.random.Generator, world: World, department: str) -> PersonFile:
    n = world.people.n
    perm = rng.permutation(n)
    numbers = np.empty(n, dtype=np.int64)
    numbers[perm] = np.arange(n)
    return PersonFile(department, world, noise_rng, perm, numbers)


@dataclass
class Column:
    """One column of an event table, kept as arrays until its part is built."""

    kind: str  # 'date', 'open_date', 'label', 'int', 'float', 'bool', 'ref'
    values: np.ndarray
    labels: tuple[str, ...] = ()
    prefix: str = ""

    def build(self, idx: np.ndarray, name: str) -> pl.Series:
        v = self.values[idx]
        if self.kind in ("date", "open_date"):
            return dates(v, open_ended=self.kind == "open_date").alias(name)
        if self.kind == "label":
            s = pl.Series(name, np.array(self.labels)[np.maximum(v, 0)])
            return s.set(pl.Series(v < 0), None) if (v < 0).any() else s
        if self.kind == "ref":
            return prefixed(self.prefix, v, ID_WIDTH).alias(name)
        if self.kind == "int":
            return pl.Series(name, v.astype(np.int32))
        return pl.Series(name, v)


@dataclass
class EventTable:
    """An event table keyed by the department's person record_id, sorted by it (stable,
    so each person's events keep their order)."""

    file: PersonFile
    person: np.ndarray
    columns: dict[str, Column] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.order = np.argsort(self.file.numbers[self.person], kind="stable")

    @property
    def rows(self) -> int:
        return len(self.person)

    def parts(self) -> Iterator[pl.DataFrame]:
        if self.rows == 0:
            yield self._frame(self.order)
        for start in range(0, self.rows, PART_ROWS):
            yield self._frame(self.order[start : start + PART_ROWS])

    def _frame(self, idx: np.ndarray) -> pl.DataFrame:
        cols: dict[str, Any] = {"record_id": self.file.record_id(self.person[idx])}
        for name, col in self.columns.items():
            cols[name] = col.build(idx, name)
        return pl.DataFrame(cols)


def _academic_years() -> tuple[str, ...]:
    return tuple(f"{y}/{str(y + 1)[2:]}" for y in range(2000, 2030))


def dwp_tables(f: PersonFile, benefits: dict, employment: dict) -> dict[str, EventTable]:
    return {
        "benefit_spells": EventTable(f, benefits["person"], {
            "benefit": Column("label", benefits["benefit"], BENEFITS),
            "start_date": Column("date", benefits["day"]),
            "end_date": Column("open_date", benefits["end"]),
        }),
        "employment_spells": EventTable(f, employment["person"], {
            "start_date": Column("date", employment["day"]),
            "end_date": Column("open_date", employment["end"]),
        }),
    }  # fmt: skip


def moj_tables(rng: np.random.Generator, f: PersonFile, offences: dict) -> dict[str, EventTable]:
    """Cautions and convictions only: offences with no further action never reach MoJ."""
    keep = offences["disposal"] > 0
    o = {k: v[keep] for k, v in offences.items()}
    return {
        "offences": EventTable(f, o["person"], {
            "offence_ref": Column("ref", rng.permutation(len(o["person"])), prefix="OFF"),
            "offence_date": Column("date", o["day"]),
            "juvenile": Column("bool", o["juvenile"]),
            "disposal": Column("label", o["disposal"], DISPOSALS),
            "disposal_date": Column("date", o["disposal_day"]),
            "sentence": Column("label", o["sentence"], SENTENCES),
            "custody_days": Column("int", o["custody_days"]),
        }),
    }  # fmt: skip


def dfe_tables(f: PersonFile, attendance: dict, exclusions: dict, ks: dict, episodes: dict) -> dict[str, EventTable]:
    t = terms()
    term_year = np.array([x[0] - 2000 for x in t])
    term_name = np.array([("autumn", "spring", "summer").index(x[1]) for x in t])
    cin = episodes["type"] < 2
    lac = ~cin
    return {
        "attendance": EventTable(f, attendance["person"], {
            "academic_year": Column("label", term_year[attendance["term"]], _academic_years()),
            "term": Column("label", term_name[attendance["term"]], ("autumn", "spring", "summer")),
            "sessions_possible": Column("int", attendance["possible"]),
            "sessions_missed": Column("int", attendance["missed"]),
        }),
        "exclusions": EventTable(f, exclusions["person"], {
            "exclusion_date": Column("date", exclusions["day"]),
            "exclusion_type": Column("label", exclusions["permanent"].astype(np.int8), ("fixed_period", "permanent")),
            "days": Column("int", exclusions["length"]),
        }),
        "ks_results": EventTable(f, ks["person"], {
            "key_stage": Column("label", ks["stage"], ("KS2", "KS4")),
            "academic_year": Column("label", ks["year"].astype(np.int64) - 2000, _academic_years()),
            "score": Column("float", ks["score"]),
            "measure": Column("label", ks["stage"], ("scaled_score", "attainment8")),
        }),
        "children_in_need": EventTable(f, episodes["person"][cin], {
            "episode_type": Column("label", episodes["type"][cin], ("CIN", "CPP")),
            "start_date": Column("date", episodes["day"][cin]),
            "end_date": Column("open_date", episodes["end"][cin]),
        }),
        "looked_after": EventTable(f, episodes["person"][lac], {
            "start_date": Column("date", episodes["day"][lac]),
            "end_date": Column("open_date", episodes["end"][lac]),
        }),
    }  # fmt: skip
