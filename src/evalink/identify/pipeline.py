"""`identify`: local sources → persons → families → eligibility → cohort, in the council node."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from evalink.errors import InputError
from evalink.files import atomic_output
from evalink.identify.cohort import cohort
from evalink.identify.households import families, persons_from_records
from evalink.identify.persons import resolve_persons
from evalink.identify.retention import (
    DESTROY_BY,
    IDENTIFIED,
    dated,
    family_dates,
    identification_dates,
    undated_rows,
)
from evalink.identify.rules import evaluate, load_rules
from evalink.identify.sources import identifier_fields, ingest, load_mapping

if TYPE_CHECKING:
    from evalink.node import Node
    from evalink.policy import Policy

Progress = Callable[[str], None]

FAMILY_COLUMNS = [
    "family_key",
    "eligible",
    "headline_count",
    "headlines",
    "priority",
    "cohort",
    "attachment_date",
]


@dataclass
class IdentifyResult:
    families: pl.DataFrame  # FAMILY_COLUMNS, keyworker_cost, case_closed
    persons: pl.DataFrame  # person_key, family_key, source, source_record_id
    evidence: pl.DataFrame
    quarantine: pl.DataFrame
    records: pl.DataFrame  # record_key, person_key and identifiers: for the vault only
    rows_read: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        f = self.families
        return {
            "records": sum(self.rows_read.values()),
            "quarantined": self.quarantine.height,
            "persons": self.persons["person_key"].n_unique(),
            "families": f.height,
            "eligible": int(f["eligible"].sum()),
            "attached": int((f["cohort"] == "attached").sum()),
            "eligible_waiting": int((f["cohort"] == "eligible_waiting").sum()),
        }


def identify(
    sources_dir: Path | str,
    mapping_path: Path | str,
    rules_path: Path | str,
    as_of: date,
    *,
    progress: Progress | None = None,
    policy: Policy | None = None,
    temp_directory: Path | None = None,
) -> IdentifyResult:
    """Run identification on a council's extracts. Pure: reads files, returns tables.

    The identifiers read are the ones `policy` names for its identifiers dataset
    (`identifier_fields`); give the council node's policy whenever there is one, and
    its tmp/ as `temp_directory` (linkage spill then stays in the node, encrypted).
    """
    step = progress or (lambda _: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def done(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    sources_dir = Path(sources_dir)
    if not sources_dir.is_dir():
        raise InputError(f"{sources_dir}: sources directory not found")
    fields = identifier_fields(policy)
    mapping = load_mapping(mapping_path, fields)
    rules = load_rules(rules_path, known_indicators=mapping.indicators())

    step("reading sources")
    ingested = ingest(mapping, sources_dir, fields)
    done("read")

    step("resolving persons")
    person_of = resolve_persons(ingested.records, temp_directory)
    records = ingested.records.join(person_of, on="record_key", how="left")
    done("resolve")

    step("forming households and families")
    persons_, addresses = persons_from_records(records)
    # The programme's case system lists each attached family's members under one case,
    # and a benefit claim or tenancy lists a household: the strongest evidence of who
    # is one family, whatever addresses say.
    cases = ingested.programme.select(
        "record_key", (pl.lit("programme case:") + pl.col("case_id")).alias("group")
    )
    groups = (
        pl.concat([cases, ingested.households])
        .join(person_of, on="record_key")
        .select("person_key", "group")
    )
    people = families(persons_, as_of, addresses, groups)
    done("households")

    step("evaluating eligibility rules")
    events = ingested.events.join(person_of, on="record_key", how="inner").drop("record_key")
    scored, evidence = evaluate(rules, events, people, as_of)
    attachments = ingested.programme.join(person_of, on="record_key").join(
        people.select("person_key", "family_key"), on="person_key"
    )
    result_families = (
        cohort(scored, attachments)
        .select(*FAMILY_COLUMNS, "keyworker_cost", "case_closed")
        .sort("family_key")
    )
    done("rules")

    persons = (
        records.select("record_key", "person_key", "source", "source_record_id")
        .join(people.select("person_key", "family_key"), on="person_key", how="left")
        .select("person_key", "family_key", "source", "source_record_id")
        .sort("person_key", "source", "source_record_id")
    )
    return IdentifyResult(
        families=result_families,
        persons=persons,
        evidence=evidence,
        quarantine=ingested.quarantine,
        records=records,
        rows_read=ingested.rows_read,
        seconds=seconds,
    )


def write_outputs(result: IdentifyResult, out_dir: Path | str) -> list[Path]:
    """families.parquet, persons.parquet and quarantine.parquet, each written atomically."""
    out_dir = Path(out_dir)
    written = []
    for name, frame in (
        ("families", result.families.select(FAMILY_COLUMNS)),
        ("persons", result.persons),
        ("quarantine", result.quarantine),
    ):
        path = out_dir / f"{name}.parquet"
        with atomic_output(path) as tmp:
            frame.write_parquet(tmp)
        written.append(path)
    return written


# Datasets the council node keeps from a run. Identifiers go to the vault (the node puts
# anything with a direct identifier there); everything else is keyed by person_key.
NODE_DATASETS = (
    "identify_records",
    "identify_persons",
    "identify_families",
    "identify_evidence",
    "identify_quarantine",
)


def store_in_node(node: Node, result: IdentifyResult, as_of: date) -> None:
    """Keep the run in the council's node, replacing any earlier run, and audit it.

    Every row carries its family's destroy-by date and rule (see retention.py), so
    each family's records go seven years after its own case closed, apart from every
    other family's; dates set by an earlier run are kept."""
    earlier = None
    if node.parts("identify_persons") and node.parts("identify_families"):
        earlier = (
            pl.from_arrow(node.read_dataset("identify_persons", purpose="identify: dates")),
            pl.from_arrow(node.read_dataset("identify_families", purpose="identify: dates")),
        )
    identified = identification_dates(result.persons, as_of, earlier)
    families_ = result.families.join(identified, on="family_key", how="left").with_columns(
        pl.col(IDENTIFIED).fill_null(as_of)
    )
    dates = family_dates(node.policy, node.party, families_)
    family_of = result.persons.select("person_key", "family_key").unique("person_key")
    undated = undated_rows(node.policy, node.party, as_of)
    tables = {
        "identify_records": result.records.drop("record_key"),
        "identify_persons": result.persons,
        "identify_families": families_,
        "identify_evidence": result.evidence,
        "identify_quarantine": result.quarantine,
    }
    # One transaction: a run that fails while storing leaves the previous run whole.
    with node.transaction("identify"):
        for name, frame in tables.items():
            node.write_dataset(
                name, dated(frame, dates, family_of, undated).to_arrow(), replace=True,
                source="identify", row_destroy_by=DESTROY_BY,
            )
        node.record_on_commit("identify", as_of=str(as_of), **result.summary())


def explain(node: Node, family_key: str) -> tuple[dict, pl.DataFrame]:
    """A family's row and the evidence for each headline it meets, from the council node."""
    families_ = pl.from_arrow(node.read_dataset("identify_families", purpose="explain"))
    row = families_.filter(pl.col("family_key") == family_key)
    if row.height == 0:
        raise InputError(f"family '{family_key}' is not in the council node's last identify run")
    evidence = pl.from_arrow(node.read_dataset("identify_evidence", purpose="explain"))
    return row.to_dicts()[0], evidence.filter(pl.col("family_key") == family_key)
