"""A department finds the people the linker asked about and returns their outcomes.

Only reference numbers and outcome fields leave: no name, no date of birth, no address,
not even the department's own person id. The identifiers received stay in the
department's vault until their destroy-by date (30 days after receipt, from the
policy) and the return package carries the linkage quality figures, so researchers
know how much to trust a missing record.

Everything the match leaves at the department falls due with the identifiers it came
from — the record that they were matched, the sender's copy of the outcome package,
the linkage's spill (inside the node, encrypted, removed after the run) — so a month
after receipt the department keeps nothing showing who was part of the research.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from evalink.errors import InputError
from evalink.files import read_table
from evalink.link import CONTRACT_COLUMNS
from evalink.match.outcomes import load_outcomes, outcome_records

if TYPE_CHECKING:
    from evalink.node import Node


@dataclass
class Matched:
    package: Path
    dataset: str
    identifiers: int
    matched: int
    outcome_rows: int
    quality: dict[str, float]


def match(
    node: Node,
    population: Path | str,
    outcomes_file: Path | str,
    *,
    to: str = "linker",
    engine: str = "duckdb",
    min_precision: float = 0.995,
) -> Matched:
    from evalink.link import link

    population = Path(population)
    window, outcomes = load_outcomes(outcomes_file, node.policy, node.party)
    received = node.parts("identifiers")
    parts = sorted(p.part_id for p in received)
    if not parts:
        raise InputError(
            f"node '{node.party}' holds no identifiers to match; run `evalink receive` first"
        )
    if _already_matched(node, parts):
        raise InputError(
            "these identifiers were already matched and returned; refusing to return them twice"
        )
    identifiers = pl.from_arrow(node.read_dataset("identifiers", purpose="match"))
    left = identifiers.rename({"reference_number": "record_id"})
    # A department is sent only the fields its flow allows (MoJ gets no NINO): the
    # linkage contract's other columns are simply missing.
    left = left.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(name)
        for name in CONTRACT_COLUMNS
        if name not in left.columns
    ).select(CONTRACT_COLUMNS)
    right = pl.from_arrow(read_table(population / outcomes.persons, all_strings=True))
    result = link(left.to_arrow(), right.to_arrow(), engine=engine, min_precision=min_precision,
                  temp_directory=node.dir / "tmp")
    matched = result.links.select(
        pl.col("left_id").alias("reference_number"),
        pl.col("right_id").alias("person"),
        pl.col("match_probability").round(4),
    )
    fields = node.policy.dataset(outcomes.dataset).field_names()
    records = outcome_records(population, outcomes, window, matched, fields)
    # A matched person with no outcome in the window still comes back, with empty
    # outcome fields: "found, nothing happened" is a result; "not found" is not.
    without = matched.join(
        records.select("reference_number").unique(), on="reference_number", how="anti"
    )
    records = pl.concat(
        [records, without.select("reference_number", pl.col("match_probability").cast(pl.Utf8))],
        how="diagonal",
    ).select(fields)
    quality = {
        "identifiers_received": float(identifiers.height),
        "matched": float(matched.height),
        "match_rate": round(result.match_rate, 4),
        "estimated_precision": round(result.threshold.estimated_precision, 4),
        "estimated_recall": round(result.threshold.estimated_recall, 4),
        "threshold": round(result.threshold.threshold, 4),
    }
    # The outcomes package and the record that they were returned are one transaction:
    # a match that fails half-way can be run again, and one that completed is refused.
    first_receipt = min((p.received for p in received if p.received), default=node.today())
    due = min((p.destroy_by for p in received if p.destroy_by is not None), default=None)
    with node.transaction("match"):
        package = node.send(
            to, outcomes.dataset, records.to_arrow(), notes={"linkage_quality": quality},
            keep_until=due,
        )
        node.write_dataset(
            "matches",
            pa.table(
                {"parts": [",".join(parts)], "package": [package.name], "matched": [matched.height]}
            ),
            source="match",
            events={"receipt": first_receipt},
        )
    return Matched(
        package, outcomes.dataset, identifiers.height, matched.height, records.height, quality
    )


def _already_matched(node: Node, parts: list[str]) -> bool:
    if not node.parts("matches"):
        return False
    done = pl.from_arrow(node.read_dataset("matches", purpose="match"))
    return ",".join(parts) in done["parts"].to_list()
