"""`generate`: make a whole synthetic world and write it atomically.

Order of work: people and households → identities and addresses → latent risk →
baseline events → headlines, eligibility, cohort → follow-up events with the planted
effects → council sources, department files → truth. Each step draws from its own named
random stream, so the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from evalink.errors import InputError
from evalink.synth import departments, sources
from evalink.synth._rng import stream
from evalink.synth.calendar import ATTACH_END, ATTACH_START, BASELINE_END, STUDY_END, STUDY_START
from evalink.synth.costs import unit_cost_table
from evalink.synth.effects import Effects, resolve, to_json
from evalink.synth.households import FATHER, MOTHER, make_people
from evalink.synth.identities import DEFAULT_SOUTH_ASIAN_SHARE, make_identities
from evalink.synth.outcomes import (
    PERMANENT_EXCLUSION_SHARE,
    Context,
    attendance,
    benefit_spells,
    concat,
    key_stages,
    offences,
    person_risk,
    simple_events,
    spells,
    terms,
)
from evalink.synth.places import make_addresses
from evalink.synth.problems import headlines, select_cohort
from evalink.synth.records import Records, World
from evalink.synth.truth import families_table, identities_table, persons_table

ROW_GROUP = 1 << 20
STEPS = (
    "people", "baseline events", "cohort", "follow-up events", "council sources",
    "dwp", "moj", "dfe", "truth", "finish",
)  # fmt: skip
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Summary:
    out_dir: str
    seed: int
    families: int
    population: int
    council_people: int
    eligible_families: int
    attached_families: int
    waiting_families: int
    rows: dict[str, int]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: directory is not empty; use --force to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{parent}: cannot create directory ({type(error).__name__})") from error
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{parent}: directory is not writable")


def _write(table: pl.DataFrame, path: Path) -> None:
    """Parquet with fixed settings: no timestamps in the metadata, so bytes repeat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.to_arrow(), path, compression="zstd", row_group_size=ROW_GROUP)


def _write_parts(parts: Iterator[pl.DataFrame], path: Path) -> int:
    """Write frames of one schema to one Parquet file without concatenating them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    rows = 0
    try:
        for part in parts:
            table = part.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=ROW_GROUP)
            rows += part.height
    finally:
        if writer is not None:
            writer.close()
    return rows


def _phase(seed: int, tag: str, world: World, ctx: Context, lo: int, hi: int, female: np.ndarray, lone_mother: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """All hazard-driven events in calendar [lo, hi)."""
    people = world.people
    r = lambda name: stream(seed, f"{tag}/{name}")  # noqa: E731
    ev: dict[str, dict[str, np.ndarray]] = {}
    ev["asb"] = simple_events(r("asb"), people, ctx, "asb", lo, hi)
    ev["offences"] = offences(r("offences"), people, ctx, lo, hi)
    ev["domestic_abuse"] = simple_events(r("da"), people, ctx, "domestic_abuse", lo, hi)
    cin = spells(r("cin"), people, ctx, "cin", "cin", lo, hi)
    cpp = spells(r("cpp"), people, ctx, "cpp", "cpp", lo, hi, effect="child_protection_plan")
    lac = spells(r("lac"), people, ctx, "lac", "lac", lo, hi, effect="child_looked_after")
    for code, e in enumerate((cin, cpp, lac)):
        e["type"] = np.full(len(e["person"]), code, dtype=np.int8)
    ev["episodes"] = concat(concat(cin, cpp), lac)
    mh = simple_events(r("mh"), people, ctx, "mental_health", lo, hi)
    sm = simple_events(r("sm"), people, ctx, "substance_misuse", lo, hi)
    vm = simple_events(r("vm"), people, ctx, "vulnerable_new_mother", lo, hi, mask=female)
    for code, e in enumerate((mh, sm, vm)):
        e["flag"] = np.full(len(e["person"]), code, dtype=np.int8)
    ev["health"] = concat(concat(mh, sm), vm)
    b = benefit_spells(r("benefits"), people, ctx, lo, hi, lone_mother)
    b["known_locally"] = r("known").random(len(b["person"])) < sources.WORKLESS_KNOWN_LOCALLY
    ev["benefits"] = b
    ev["employment"] = spells(r("employment"), people, ctx, "employment", "employment", lo, hi)
    ex = simple_events(r("exclusions"), people, ctx, "exclusion", lo, hi)
    g = r("exclusion_detail")
    ex["permanent"] = g.random(len(ex["person"])) < PERMANENT_EXCLUSION_SHARE
    ex["length"] = np.where(ex["permanent"], 0, 1 + g.geometric(0.5, size=len(ex["person"])))
    ev["exclusions"] = ex
    ev["attendance"] = attendance(r("attendance"), people, ctx, lambda first: lo <= first < hi)
    return ev


def generate(
    out_dir: Path | str,
    *,
    families: int,
    population: int,
    seed: int = 0,
    effects: dict[str, Any] | None = None,
    effects_file: Path | str | None = None,
    south_asian_share: float = DEFAULT_SOUTH_ASIAN_SHARE,
    force: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Write a synthetic world to `out_dir` (see docs/synthetic-data.md) and summarise it."""
    started = time.perf_counter()
    out = Path(out_dir)
    if families < 1:
        raise InputError(f"--families must be at least 1, got {families}")
    if population < 1:
        raise InputError(f"--population must be at least 1, got {population}")
    if seed < 0:
        raise InputError(f"--seed must be 0 or more, got {seed}")
    if not 0.0 <= south_asian_share <= 1.0:
        raise InputError(f"--south-asian-share must be between 0 and 1, got {south_asian_share}")
    planted: Effects = resolve(effects, effects_file)
    _check_out(out, force)
    step = progress or (lambda _name: None)

    step("people")
    people = make_people(stream(seed, "households"), families, population)
    addresses = make_addresses(stream(seed, "addresses"), people.n_households, people.n_council_households)
    ids = make_identities(stream(seed, "identities"), people, addresses.in_council_area, south_asian_share)
    world = World(people, ids, addresses)
    risk = person_risk(stream(seed, "risk"), people)
    council = people.household < people.n_council_households
    family_of = np.where(council, people.household, -1)
    female = ~people.male
    lone = np.ones(people.n_households, dtype=bool)
    lone[people.household[people.role == FATHER]] = False
    lone_mother = (people.role == MOTHER) & lone[people.household]
    # Outside the council's families, IS claims come from women of working age.
    lone_mother |= female & ~council

    step("baseline events")
    no_one = np.zeros(people.n, dtype=bool)
    base_ctx = Context(risk, np.full(people.n, ATTACH_START, dtype=np.int64), no_one, planted)
    base = _phase(seed, "baseline", world, base_ctx, STUDY_START, BASELINE_END, female, lone_mother)

    step("cohort")
    term_list = terms()
    baseline_terms = np.array([i for i, t in enumerate(term_list) if t[2] < BASELINE_END])
    cb = base
    police_person = np.concatenate([cb["asb"]["person"], cb["offences"]["person"]])
    police_days = np.concatenate([cb["asb"]["day"], cb["offences"]["day"]])
    known = cb["benefits"]["known_locally"]
    flags = headlines(
        people.n_council_households,
        family_of,
        police=police_person,
        police_days=police_days,
        attendance=cb["attendance"],
        baseline_terms=baseline_terms,
        exclusions=cb["exclusions"]["person"],
        exclusion_days=cb["exclusions"]["day"],
        social_care_starts=cb["episodes"]["day"],
        social_care_person=cb["episodes"]["person"],
        workless_person=cb["benefits"]["person"][known],
        workless_start=cb["benefits"]["day"][known],
        workless_end=cb["benefits"]["end"][known],
        domestic_abuse=cb["domestic_abuse"]["person"],
        da_days=cb["domestic_abuse"]["day"],
        health_person=cb["health"]["person"],
        health_days=cb["health"]["day"],
    )
    cohort = select_cohort(stream(seed, "cohort"), flags)
    # Everyone outside the council's families gets a pseudo index date too, so event
    # generation is the same code for all; their effects are always 1.
    other_index = stream(seed, "index_dates").integers(ATTACH_START, ATTACH_END, size=people.n)
    index_date = np.where(council, cohort.index_date[np.maximum(family_of, 0)], other_index).astype(np.int64)
    treated = council & cohort.attached[np.maximum(family_of, 0)]

    step("follow-up events")
    ctx = Context(risk, index_date, treated, planted)
    follow = _phase(seed, "follow-up", world, ctx, BASELINE_END, STUDY_END, female, lone_mother)
    ev = {k: concat(base[k], follow[k]) for k in base}
    del base, follow, cb
    # Key stages are measured at fixed ages, not as a hazard, so one pass covers both phases.
    ks = key_stages(stream(seed, "key_stages"), people, ctx)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        rows: dict[str, int] = {}
        truth_records: dict[str, Records] = {}

        def emit(rel: str, rec: Records) -> None:
            _write(rec.table, tmp / rel)
            rows[rel] = rec.table.height
            truth_records[rel.removesuffix(".parquet").replace("/sources/", "/")] = Records(
                rec.table.select("record_id"), rec.person
            )

        step("council sources")
        rs = lambda name: stream(seed, f"council/{name}")  # noqa: E731
        emit("council/sources/police.parquet", sources.police(rs("police"), world, council, ev["asb"], ev["offences"]))
        emit("council/sources/school_attendance.parquet", sources.school_attendance(rs("attendance"), world, council, ev["attendance"]))
        emit("council/sources/school_exclusions.parquet", sources.school_exclusions(rs("exclusions"), world, council, ev["exclusions"]))
        emit("council/sources/social_care.parquet", sources.social_care(rs("social_care"), world, council, ev["episodes"]))
        emit("council/sources/worklessness.parquet", sources.worklessness(rs("worklessness"), world, council, ev["benefits"]))
        emit("council/sources/domestic_abuse.parquet", sources.domestic_abuse(rs("domestic_abuse"), world, council, ev["domestic_abuse"]))
        emit("council/sources/health.parquet", sources.health(rs("health"), world, council, ev["health"]))
        emit("council/sources/housing.parquet", sources.housing(rs("housing"), world, family_of, people.n_council_households))
        emit("council/sources/programme.parquet", sources.programme(
            rs("programme"), world, family_of, cohort.attached, cohort.index_date, cohort.closure_date, cohort.keyworker_cost,
        ))  # fmt: skip

        for dept in ("dwp", "moj", "dfe"):
            step(dept)
            rd = stream(seed, f"department/{dept}")
            file = departments.person_file(rd, stream(seed, f"department/{dept}/noise"), world, dept)
            rows[f"departments/{dept}/persons.parquet"] = _write_parts(file.parts(), tmp / f"departments/{dept}/persons.parquet")
            truth_records[f"departments/{dept}/persons"] = Records(file.record_id(file.perm).to_frame(), file.perm)
            if dept == "dwp":
                tables = departments.dwp_tables(file, ev["benefits"], ev["employment"])
            elif dept == "moj":
                tables = departments.moj_tables(rd, file, ev["offences"])
            else:
                tables = departments.dfe_tables(file, ev["attendance"], ev["exclusions"], ks, ev["episodes"])
            for name, table in tables.items():
                rel = f"departments/{dept}/{name}.parquet"
                rows[rel] = _write_parts(table.parts(), tmp / rel)
            del tables, file

        step("truth")
        rows["truth/persons.parquet"] = _write_parts(persons_table(world, truth_records), tmp / "truth/persons.parquet")
        rows["truth/identities.parquet"] = _write_parts(identities_table(world), tmp / "truth/identities.parquet")
        fam = families_table(world, cohort)
        _write(fam, tmp / "truth/families.parquet")
        rows["truth/families.parquet"] = fam.height
        (tmp / "truth/effects.json").write_text(json.dumps(to_json(planted), indent=2) + "\n", encoding="utf-8")
        unit_cost_table().write_csv(tmp / "unit_costs.csv")

        step("finish")
        if out.exists():
            # --force: move the old world aside first so a failure never leaves neither.
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / "world")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

    return Summary(
        out_dir=str(out),
        seed=seed,
        families=families,
        population=people.n,
        council_people=int(council.sum()),
        eligible_families=int(cohort.eligible.sum()),
        attached_families=int(cohort.attached.sum()),
        waiting_families=int((cohort.eligible & ~cohort.attached).sum()),
        rows=dict(sorted(rows.items())),
        seconds=round(time.perf_counter() - started, 2),
    )
