"""Dedupe: the records of one table (several local services) grouped into persons.

The same household-aware model as `link()` scores pairs within the table; pairs above
the threshold are joined into clusters, strongest first, after the twin veto has
removed same-household siblings, so one chain of near-matches cannot merge a family;
a join that would give one person two different NINOs is refused.

Services repeat one copy of a person's identifiers on every row about them (every
term of school attendance, every incident), so identical copies are scored once: the
model sees distinct identities, often a tenth of the rows.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.cluster.hierarchy import DisjointSet
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from evalink.link import engines, model, standardise, train
from evalink.link.inputs import TableLike, load_side
from evalink.link.standardise import CONTRACT_COLUMNS

# Clusters are built from pairs at least this likely. Connected components chain: one
# false pair merges two people and everything linked to either, so the bar is high.
DEFAULT_THRESHOLD = 0.99

_IDENTITY_COLUMNS = [c for c in CONTRACT_COLUMNS if c != "record_id"]


@dataclass
class DedupeResult:
    clusters: pl.DataFrame  # record_id, cluster_id (int)
    identities: int  # distinct identifier copies scored
    pairs: int  # pairs at or above the threshold
    threshold: float

    @property
    def persons(self) -> int:
        return self.clusters["cluster_id"].n_unique()


def dedupe(
    records: TableLike,
    *,
    engine: str = "duckdb",
    threshold: float = DEFAULT_THRESHOLD,
    threads: int | None = None,
    temp_directory: Path | None = None,
) -> DedupeResult:
    """Group records of the same person. Inside a node, pass `temp_directory=node.dir /
    "tmp"` so the engine's spill stays in the node, encrypted."""
    raw = load_side(records, label="records")
    # One row per distinct identifier copy; every record points at its copy.
    identities = (
        raw.select(_IDENTITY_COLUMNS)
        .unique(maintain_order=True)
        .with_row_index("identity")
        .with_columns(pl.format("I{}", pl.col("identity")).alias("record_id"))
    )
    record_identity = raw.join(
        identities, on=_IDENTITY_COLUMNS, how="left", nulls_equal=True
    ).select("record_id", "identity")
    std, _ = standardise.standardise(identities.select(CONTRACT_COLUMNS))

    with engines.database_api(engine, threads=threads, temp_directory=temp_directory) as api:
        from splink import Linker

        sdf = engines.register(api, model.with_model_columns(std).to_arrow(), "records")
        # Levels unseen in a small council (no NINO typos, say) are expected: not warnings.
        linker = Linker(sdf, model.evalink_settings("dedupe_only"), log_level=logging.ERROR)
        train.train(linker, nino_pairs=train.shared_nino_count(std))
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        scored = _scored(predictions)
        predictions.drop_table_from_database_and_remove_from_cache()

    if model.same_birthday_siblings(std) * 10_000 >= std.height:
        scored = model.veto_household_siblings(scored)
    pairs = scored.filter(pl.col("match_probability") >= threshold)
    n = identities.height
    ninos = (
        pl.DataFrame({"record_id": identities["record_id"]})
        .join(std.select("record_id", "nino"), on="record_id", how="left")["nino"]
        .to_list()
    )
    labels = _clusters(n, pairs, ninos)
    cluster_of = pl.DataFrame(
        {"identity": np.arange(n, dtype=np.uint32), "cluster_id": labels.astype(np.int64)}
    )
    clusters = (
        record_identity.join(cluster_of, on="identity", how="left")
        .select("record_id", "cluster_id")
        .sort("record_id")
    )
    return DedupeResult(clusters, n, pairs.height, threshold)


def _clusters(n: int, pairs: pl.DataFrame, ninos: list[str | None]) -> np.ndarray:
    """Cluster label per identity: pairs joined strongest first, except a join that would
    give one person two different NINOs.

    Plain connected components let one false pair (two Priya Shahs born the same year,
    names swapped on one record) merge two people and everyone linked to either. A NINO
    is the one identifier a person has only one of, so a cluster holding two that are
    not a keying error of each other is two people: the weaker pair is the one refused.
    """
    ids_l = pairs["id_l"].str.slice(1).cast(pl.Int64).to_numpy()
    ids_r = pairs["id_r"].str.slice(1).cast(pl.Int64).to_numpy()
    if not any(ninos):
        graph = coo_matrix((np.ones(len(ids_l), dtype=np.int8), (ids_l, ids_r)), shape=(n, n))
        return connected_components(graph, directed=False)[1]
    order = np.argsort(-pairs["match_probability"].to_numpy(), kind="stable")
    persons = DisjointSet(range(n))
    held: dict[int, set[str]] = {i: {v} for i, v in enumerate(ninos) if v}
    for k in order:
        a, b = persons[int(ids_l[k])], persons[int(ids_r[k])]
        if a == b:
            continue
        mine, theirs = held.get(a, set()), held.get(b, set())
        if any(_different_ninos(x, y) for x, y in itertools.product(mine, theirs)):
            continue
        persons.merge(a, b)
        held.pop(a, None), held.pop(b, None)
        if mine or theirs:
            held[persons[a]] = mine | theirs
    return np.fromiter((persons[i] for i in range(n)), dtype=np.int64, count=n)


def _different_ninos(a: str, b: str) -> bool:
    """Two standardised NINOs that are not one keying error apart (a wrong character, or
    two swapped: at most two positions differ)."""
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b)) > 2


def _scored(predictions) -> pl.DataFrame:
    columns = ["record_id_l", "record_id_r", "match_probability", *model.GAMMAS]
    api = predictions.db_api
    if api.sql_dialect.sql_dialect_str == "duckdb":
        relation = api.duckdb_con.sql(
            f"SELECT {', '.join(columns)} FROM {predictions.physical_name}"
        )
        frame = pl.from_arrow(relation.fetch_arrow_table())
    else:
        frame = pl.from_pandas(predictions.as_spark_dataframe().select(*columns).toPandas())
    assert isinstance(frame, pl.DataFrame)
    return frame.rename({"record_id_l": "id_l", "record_id_r": "id_r"}).with_columns(
        pl.col("id_l").cast(pl.Utf8),
        pl.col("id_r").cast(pl.Utf8),
        pl.col("match_probability").cast(pl.Float64),
    )
