"""The linkage run, end to end: standardise → model → train → score → assign → threshold.

`link()` and `dedupe()` in `evalink.link` are thin wrappers over `run()`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from evalink.link import assign, engines, model, standardise, threshold, train
from evalink.link.inputs import TableLike, load_side

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

_REFIT_ROUNDS = 2

# Each chunk repeats every blocking join against the whole left side, so fewer, larger
# chunks cost less CPU (5 chunks of 1M: 40 s of CPU, 3 chunks: 35 s); at 350k right
# rows a chunk's pairs with both records' values still fit DuckDB's memory limit.
_RIGHT_ROWS_PER_CHUNK = 350_000

_SCORED_COLUMNS = [
    "record_id_l",
    "record_id_r",
    "source_dataset_l",
    "match_weight",
    "match_probability",
    *model.GAMMAS,
]

LINK_SCHEMA = pa.schema(
    [("left_id", pa.string()), ("right_id", pa.string()), ("match_probability", pa.float64())]
)


@dataclass
class LinkResult:
    """Links and everything the quality report needs (no personal data in logs)."""

    links: pl.DataFrame  # left_id, right_id, match_probability
    threshold: threshold.ThresholdChoice
    assigned: pl.DataFrame  # every one-to-one candidate, before the threshold
    counts: dict[str, standardise.StandardiseCounts]
    plan: train.TrainingPlan
    deterministic_pairs: int
    candidate_pairs: int
    left_records: int
    right_records: int
    weights: pl.DataFrame = field(default_factory=pl.DataFrame)  # match weights of all candidates
    model_json: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)  # Altair charts from Splink
    review: pl.DataFrame = field(default_factory=pl.DataFrame)  # borderline pairs, both sides

    @property
    def match_rate(self) -> float:
        return self.links.height / self.left_records if self.left_records else 0.0

    def warnings(self) -> list[str]:
        notes = []
        for side, count in self.counts.items():
            if count.unparseable_dob:
                notes.append(
                    f"{side}: {count.unparseable_dob} date(s) of birth not in YYYY-MM-DD form, treated as missing"
                )
            if count.invalid_nino:
                notes.append(f"{side}: {count.invalid_nino} invalid NINO(s) treated as missing")
        return notes


def _silence(_: str) -> None:
    pass


def run(
    left: TableLike,
    right: TableLike,
    *,
    engine: str = "duckdb",
    min_precision: float = 0.995,
    with_report: bool = False,
    progress: Progress = _silence,
    threads: int | None = None,
    temp_directory: Path | None = None,
) -> LinkResult:
    """Link `left` to `right`. Inside a node, pass `temp_directory=node.dir / "tmp"`:
    the engine's spill then stays in the node, encrypted (see `engines.database_api`)."""
    progress("reading inputs")
    left_raw = load_side(left, label="left")
    right_raw = load_side(right, label="right")

    progress("standardising")
    left_std, left_counts = standardise.standardise(left_raw)
    right_std, right_counts = standardise.standardise(right_raw)
    del left_raw, right_raw  # only the standardised columns are needed from here

    deterministic = deterministic_pairs(left_std, right_std)

    with engines.database_api(engine, threads=threads, temp_directory=temp_directory) as api:
        left_sdf = engines.register(
            api, model.with_model_columns(left_std).to_arrow(), "left_records"
        )
        right_sdf = engines.register(
            api, model.with_model_columns(right_std).to_arrow(), "right_records"
        )
        # Splink keeps the per-comparison levels (gammas, for the twin guard) only with
        # the matching columns.
        linker = _linker([left_sdf, right_sdf], "link_only", with_values=True)

        progress("training (u by sampling, m by EM)")
        plan = train.train(
            linker,
            nino_pairs=train.shared_nino_count(left_std, right_std),
            prior=train.starting_prior(left_std, right_std),
        )

        progress("scoring candidate pairs")
        # Pairs below 1e-6 can never be accepted and only cost memory downstream (the
        # refit of m can lift a pair scored with EM's m by a few bits, not more).
        # In chunks of the right side: the pairs of one chunk, with both records'
        # values, must fit in the engine's memory. Each chunk's few needed columns are
        # taken out and its table dropped at once: kept, the chunks' tables with every
        # record value are most of the engine's memory (and, at 1M × 10M, tens of GB
        # spilled to disk). Only the report reads them again.
        chunks = max(1, math.ceil(right_std.height / _RIGHT_ROWS_PER_CHUNK))
        predictions = []
        parts = []
        for index in range(1, chunks + 1):
            chunk = linker.inference.predict_chunk(
                left_chunk=(1, 1),
                right_chunk=(index, chunks),
                threshold_match_probability=1e-6,
                warning_mode="never",
            )
            parts.append(_as_polars(chunk, _SCORED_COLUMNS))
            if with_report:
                predictions.append(chunk)
            else:
                chunk.drop_table_from_database_and_remove_from_cache()
        scored = pl.concat(parts)
        del parts
        scored = _guard_twins(_orient(scored), [left_std, right_std])

        progress("assigning one to one")
        # Nationally the scored pairs are tens of millions of rows: each frame below is
        # dropped as soon as the next is made, so at most two copies are held at once.
        candidate_pairs = scored.height
        prior = linker._settings_obj._probability_two_random_records_match
        candidates = _with_deterministic(scored, deterministic)
        del scored
        total_pairs = left_std.height * right_std.height
        candidates, prior = reestimate_prior(candidates, prior, total_pairs)
        posterior = assign.posterior_given_one_match(
            candidates, prior, left_std.height, right_std.height, expected=prior * total_pairs
        )
        del candidates
        # m re-estimated from every scored candidate, then prior and posterior again:
        # a couple of rounds settle (each is a pass over the candidates in memory).
        for _ in range(_REFIT_ROUNDS):
            candidates = train.refit_m(linker, posterior, prior)
            del posterior
            candidates, prior = reestimate_prior(candidates, prior, total_pairs)
            posterior = assign.posterior_given_one_match(
                candidates,
                prior,
                left_std.height,
                right_std.height,
                expected=prior * total_pairs,
            )
            del candidates
        assigned = assign.one_to_one(posterior)
        choice = threshold.choose_threshold(assigned, min_precision)
        links = assigned.filter(
            (pl.col("match_probability") >= choice.threshold) | pl.col("deterministic")
        ).select("left_id", "right_id", "match_probability")

        result = LinkResult(
            links=links,
            threshold=choice,
            assigned=assigned,
            counts={"left": left_counts, "right": right_counts},
            plan=plan,
            deterministic_pairs=deterministic.height,
            candidate_pairs=candidate_pairs,
            left_records=left_std.height,
            right_records=right_std.height,
        )
        if with_report:
            progress("preparing the quality report")
            from evalink.link import report

            report.collect(result, linker, predictions, left_std, right_std)
            for chunk in predictions:
                chunk.drop_table_from_database_and_remove_from_cache()
    return result


def _linker(frames: list[Any], link_type: model.LinkType, *, with_values: bool = False) -> Any:
    from splink import Linker

    # Splink reports untrainable levels at WARNING; they are expected (a dataset
    # without NINOs) and belong in --verbose, not in every run's output.
    quiet = not logging.getLogger().isEnabledFor(logging.DEBUG)
    level = logging.ERROR if quiet else logging.DEBUG
    linker = Linker(
        frames if len(frames) > 1 else frames[0],
        model.evalink_settings(link_type, with_values=with_values),
        log_level=level,
    )
    logging.getLogger("splink").setLevel(level)
    return linker


def _guard_twins(scored: pl.DataFrame, sides: list[pl.DataFrame]) -> pl.DataFrame:
    """Guard against twins where the data has twins.

    In files built from households (every council and department file) siblings with
    one birthday are common; in a file of unrelated people (FEBRL) the guard would only
    refuse true matches whose forename was mistyped beyond recognition. UK files hold
    about twenty such households per 10,000 records; chance alone gives far fewer than one.
    """
    twins = sum(model.same_birthday_siblings(side) for side in sides)
    if twins * 10_000 >= sum(side.height for side in sides):
        return model.veto_household_siblings(scored)
    return scored


def reestimate_prior(
    candidates: pl.DataFrame, prior: float, total_pairs: int, rounds: int = 5
) -> tuple[pl.DataFrame, float]:
    """Refine the prior (share of pairs that match) from the scored pairs themselves.

    The first prior comes from deterministic rules with a guessed recall. Once every
    candidate is scored, the expected number of matches is the sum of probabilities over
    the one-to-one assignment; dividing by all pairs gives a better prior, which shifts
    every match weight by the same amount. A few rounds converge.
    """

    def logit2(p: float) -> float:
        return math.log2(p / (1 - p))

    # The shift moves every non-deterministic weight alike, so the one-to-one
    # assignment (deterministic pairs first, then by weight) is the same in every round:
    # found once, summed each round.
    chosen = assign.one_to_one(candidates).select(
        "left_id", "right_id", pl.lit(True).alias("_chosen")
    )
    candidates = candidates.join(chosen, on=["left_id", "right_id"], how="left")
    for _ in range(rounds):
        expected = float(
            candidates.filter(pl.col("_chosen").fill_null(False))["match_probability"].sum()
        )
        new_prior = min(max(expected / max(total_pairs, 1), 1e-12), 0.5)
        shift = logit2(new_prior) - logit2(prior)
        prior = new_prior
        if abs(shift) < 0.01:
            break
        weight = (
            pl.when(pl.col("deterministic"))
            .then(pl.col("match_weight"))
            .otherwise(pl.col("match_weight") + shift)
        )
        candidates = candidates.with_columns(weight.alias("match_weight")).with_columns(
            (1 / (1 + (2.0 ** -pl.col("match_weight")))).alias("match_probability")
        )
    return candidates.drop("_chosen"), prior


def deterministic_pairs(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """Pairs agreeing on a valid NINO, the date of birth and a name.

    A NINO belongs to one person, so agreement on it and the date of birth is decisive
    unless a NINO was keyed onto a relative's record; the name check catches that.
    """
    keys = ["nino", "dob"]
    cols = [*keys, "record_id", "forename_groups", "surname_std"]
    joined = (
        left.select(cols)
        .drop_nulls(keys)
        .join(right.select(cols).drop_nulls(keys), on=keys, suffix="_r")
    )
    named = joined.filter(
        (pl.col("surname_std") == pl.col("surname_std_r"))
        | (
            pl.col("forename_groups").list.set_intersection(pl.col("forename_groups_r")).list.len()
            > 0
        )
    )
    return named.select(
        pl.col("record_id").alias("left_id"), pl.col("record_id_r").alias("right_id")
    )


def _as_polars(sdf: Any, columns: list[str]) -> pl.DataFrame:
    """Selected columns of a Splink result table, from either engine."""
    api = sdf.db_api
    if api.sql_dialect.sql_dialect_str == "duckdb":
        relation = api.duckdb_con.sql(f"SELECT {', '.join(columns)} FROM {sdf.physical_name}")
        return pl.from_arrow(relation.fetch_arrow_table())  # type: ignore[return-value]
    frame = sdf.as_spark_dataframe().select(*columns)
    return pl.from_pandas(frame.toPandas())


def _orient(scored: pl.DataFrame) -> pl.DataFrame:
    """left_id/right_id whichever way round Splink put the pair."""
    from_left = pl.col("source_dataset_l") == "left_records"
    return scored.select(
        pl.when(from_left)
        .then(pl.col("record_id_l"))
        .otherwise(pl.col("record_id_r"))
        .cast(pl.String)
        .alias("left_id"),
        pl.when(from_left)
        .then(pl.col("record_id_r"))
        .otherwise(pl.col("record_id_l"))
        .cast(pl.String)
        .alias("right_id"),
        pl.col("match_weight").cast(pl.Float64),
        pl.col("match_probability").cast(pl.Float64),
        *[pl.col(g) for g in scored.columns if g.startswith("gamma_")],
    )


def _with_deterministic(scored: pl.DataFrame, deterministic: pl.DataFrame) -> pl.DataFrame:
    flagged = deterministic.with_columns(pl.lit(True).alias("deterministic"))
    candidates = scored.join(flagged, on=["left_id", "right_id"], how="full", coalesce=True)
    # A deterministic pair the blocking rules did not generate still counts; its
    # probability is the rule's (near certainty), never lower than the model's.
    certain = 1 - 1e-6
    return candidates.with_columns(
        pl.col("deterministic").fill_null(False),
    ).with_columns(
        pl.when(pl.col("deterministic"))
        .then(pl.max_horizontal(pl.col("match_probability").fill_null(certain), pl.lit(certain)))
        .otherwise(pl.col("match_probability"))
        .alias("match_probability"),
        pl.when(pl.col("deterministic"))
        .then(
            pl.max_horizontal(
                pl.col("match_weight").fill_null(math.log2(certain / (1 - certain))),
                pl.lit(math.log2(certain / (1 - certain))),
            )
        )
        .otherwise(pl.col("match_weight"))
        .alias("match_weight"),
    )


def write_links(result: LinkResult, path: Any) -> None:
    """Write the links table in the contract's schema, atomically."""
    from evalink.files import write_table

    table = (
        result.links.select(
            pl.col("left_id").cast(pl.String),
            pl.col("right_id").cast(pl.String),
            pl.col("match_probability").cast(pl.Float64),
        )
        .to_arrow()
        .cast(LINK_SCHEMA)
    )
    write_table(table, path)
