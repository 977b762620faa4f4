"""Training the model without labels.

Nobody gives the linker a list of true matches, so the parameters come from the data:

* u (how often non-matches agree) from random pairs, which are almost all non-matches;
* the prior (how many pairs match) from deterministic rules strict enough to be right;
* m (how often matches agree) by expectation maximisation on blocked pairs.

The EM blocks are chosen so that no parameter is learnt from pairs that share a
household. A block on surname and postcode would be full of parents, children and
siblings; EM would take their agreement on surname and address as the signature of a
match. Instead each comparison is trained inside blocks that household members rarely
share: the NINO (unique to a person), or date of birth with forename (twins differ in
forename, juniors in date of birth).
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from splink import block_on

logger = logging.getLogger(__name__)

# Below this many left records sharing a NINO with the right side, the NINO block
# holds too few pairs for EM to estimate anything.
_MIN_NINO_PAIRS = 200


@dataclass
class TrainingPlan:
    """Which EM blocks were used, and why (for the report)."""

    em_blocks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def shared_nino_count(left: pl.DataFrame, right: pl.DataFrame | None = None) -> int:
    """How many records share a valid NINO with a record on the other side."""
    if right is None:
        return int(left["nino"].drop_nulls().is_duplicated().sum())
    right_ninos = right["nino"].drop_nulls().unique()
    return int(left["nino"].drop_nulls().is_in(right_ninos.implode()).sum())


# Pairs agreeing on NINO and date of birth, or on full name, date of birth and
# postcode, are matches with few exceptions; they recall perhaps 60% of matches.
_CERTAIN_KEYS = (("nino", "dob"), ("forename_main", "surname_std", "dob", "postcode"))
_CERTAIN_RECALL = 0.6


def starting_prior(left: pl.DataFrame, right: pl.DataFrame) -> float:
    """The share of all left × right pairs that match, from the near-certain pairs.

    The same estimate as Splink's deterministic-rules one, counted in Polars on the
    standardised tables (the engine would build both tables again to count them).
    """
    found = [
        left.select("record_id", *keys)
        .drop_nulls(keys)
        .join(right.select("record_id", *keys).drop_nulls(keys), on=list(keys))
        .select("record_id", "record_id_right")
        for keys in _CERTAIN_KEYS
    ]
    certain = pl.concat(found).unique().height
    total = max(left.height * right.height, 1)
    return min(max(certain / _CERTAIN_RECALL / total, 1e-12), 0.5)


def train(
    linker: Any,
    *,
    nino_pairs: int,
    max_em_pairs: float = 5e5,
    u_pairs: float = 4e5,
    prior: float | None = None,
) -> TrainingPlan:
    """`prior`: the starting share of matching pairs, if the caller has counted it
    (`starting_prior`); otherwise the engine counts it."""
    plan = TrainingPlan()
    training = linker.training

    if prior is None:
        training.estimate_probability_two_random_records_match(
            [" AND ".join(f"l.{key} = r.{key}" for key in keys) for keys in _CERTAIN_KEYS],
            recall=_CERTAIN_RECALL,
        )
    else:
        linker._settings_obj._probability_two_random_records_match = prior
    training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=5, num_chunks=1)

    if nino_pairs >= _MIN_NINO_PAIRS:
        # Household members never share a NINO: trains forename, date of birth, the
        # household comparison and sex on (nearly) pure matches and chance agreements.
        # Small blocks (about one pair per person): no sampling pass needed.
        _em(training, block_on("nino"), None)
        plan.em_blocks.append("nino")
    else:
        plan.notes.append(
            f"NINO shared by only {nino_pairs} record(s): forename and date of birth trained "
            "without it (twins may enter the date-of-birth-and-surname block)"
        )
        # Same date of birth and surname: twins are the only household members here,
        # and they differ in forename, which is what this block trains.
        _em(training, block_on("dob", "surname_std"), max_em_pairs)
        plan.em_blocks.append("dob + surname")
        # Same name: juniors share it, so pairs born more than 12 years apart (a
        # parent and child) are kept out of the block that trains date of birth.
        _em(
            training,
            "l.forename_main = r.forename_main AND l.surname_std = r.surname_std"
            " AND (l.birth_year IS NULL OR r.birth_year IS NULL"
            " OR abs(cast(l.birth_year AS int) - cast(r.birth_year AS int)) < 12)",
            max_em_pairs,
        )
        plan.em_blocks.append("forename + surname, born within 12 years")
    # Same date of birth and forename: twins (different forename) and juniors
    # (different date of birth) both fall outside. Trains the household comparison.
    _em(training, block_on("dob", "forename_main"), None)
    plan.em_blocks.append("dob + forename")
    regularise(linker)
    return plan


# No single comparison may be decisive on its own from a handful of observations: an m
# of 0 (never seen among matches in the training block) would veto a true match with a
# mistyped date of birth; a u from five sampled pairs would be noise. Clamping bounds
# every level's weight to roughly ±17 bits.
_M_FLOOR = 0.002
_U_FLOOR = 1e-5


# A level never seen among the training block's matches (a nickname, a name swap in
# clean data) is rare among matches but not impossible: it gets a small m rather than
# Splink's generic default, which is tuned for agreement levels of any strength.
_M_UNSEEN_AGREEMENT = 0.01


def _set_by_model(level: Any) -> bool:
    """A level whose m and u the model fixes (sex agreeing with the forename), never learnt."""
    return bool(level._fix_m_probability and level._fix_u_probability)


def regularise(linker: Any) -> None:
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        for level in levels:
            if _set_by_model(level):
                continue  # set by the model, not learnt
            m, u = level.m_probability, level.u_probability
            seen_m, seen_u = level._has_estimated_m_values, level._has_estimated_u_values
            if not seen_m and not seen_u:
                # Never observed at all: the level carries no evidence either way.
                level.m_probability = level.u_probability = _M_UNSEEN_AGREEMENT
                continue
            u = max(float(u), _U_FLOOR) if seen_u and u is not None else _U_FLOOR
            if not seen_m:
                # Unseen among matches: a little evidence at most (weight ≤ 5 bits).
                m = _M_FLOOR if level._is_else_level else min(_M_UNSEEN_AGREEMENT, 32 * u)
            level.m_probability = max(float(m), _M_FLOOR)
            level.u_probability = u
        _condition_on_fixed_level(comparison)


def _condition_on_fixed_level(comparison: Any) -> None:
    """A level the model fixes at weight 0 is a condition the other levels are read under.

    Sex: when the forenames agree they already say the sex, and that level carries no
    weight. The other levels are reached only by pairs whose forenames differ, and what
    they should say is how often such a pair agrees on sex if it is a match (nearly
    always) against if it is not (half the time): m and u as shares of the pairs
    outside the fixed level. Left as shares of all pairs, the forename would be counted
    a second time, against every true match with a nickname or a swapped name (m of
    "same sex" would be the few per cent of matches whose forenames differ, less than
    its u of one half, and agreeing on sex would count against the match).
    """
    levels = comparison._comparison_levels_excluding_null
    free = [lv for lv in levels if not _set_by_model(lv)]
    if len(free) == len(levels):
        return
    for attribute in ("m_probability", "u_probability"):
        total = sum(float(getattr(lv, attribute)) for lv in free)
        for lv in free:
            setattr(lv, attribute, float(getattr(lv, attribute)) / total)


def _em(training: Any, rule: Any, max_pairs: float | None) -> None:
    linker = training._linker
    before = copy.deepcopy(linker._settings_obj)
    try:
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=max_pairs
        )
    except ValueError as error:
        # On a small block EM can drive a level's m to exactly 0, which Splink refuses
        # to store — and it leaves the comparisons it had set aside for the block
        # missing from the model. Put the model back as it was before this block; the
        # other blocks still train, and `regularise` floors what stays untrained.
        if "below the minimum allowed value" not in str(error):
            raise
        linker._settings_obj = before
        logger.info("EM on one training block stopped: an m probability reached 0")


def train_plain(linker: Any, *, u_pairs: float = 5e6, max_em_pairs: float = 2e6) -> None:
    """The training a plain Splink user writes from the tutorial (for comparison)."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        ["l.forename = r.forename AND l.surname = r.surname AND l.dob = r.dob"], recall=0.7
    )
    training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=5, num_chunks=1)
    training.estimate_parameters_using_expectation_maximisation(
        block_on("forename", "surname"),
        estimate_without_term_frequencies=True,
        max_pairs=max_em_pairs,
    )
    training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), estimate_without_term_frequencies=True, max_pairs=max_em_pairs
    )


# How many pairs' worth of weight the EM estimate keeps against the scored candidates:
# enough to hold a level seen only a handful of times near its EM value, little against
# the thousands of matches of a real run.
_REFIT_PSEUDO_PAIRS = 50.0

# Once the matches are taken out, a level that no sampled non-match reached has u below
# about one in the number of sampled pairs; this floor keeps its weight finite.
_U_FLOOR_CORRECTED = 1e-6


def refit_m(linker: Any, candidates: pl.DataFrame, prior: float = 0.0) -> pl.DataFrame:
    """Re-estimate every m probability from all scored candidates, and rescore them.

    EM in a block learns only the comparisons the block leaves free. Without NINO or
    sex, each block leaves exactly one (date of birth, or forename, or the household
    comparison), and EM with one comparison cannot tell a match with a wholly different
    forename from a non-match: it drives that level's m to 0 and a true match with one
    replaced field becomes impossible. Once every candidate is scored and each left
    record's probability knows its rivals (`posterior_given_one_match`), the expected
    share of matches at each level, over all candidates at once, is an M step with every
    comparison free. The match weights move by log2(m_new / m_old) per comparison.

    u comes from random pairs, and a share `prior` of random pairs are matches. In a
    national file that share is one in millions and changes nothing; in a small file
    where every record has a match (5,000 × 5,000: one in 5,000) the matches among the
    sampled pairs are most of the pairs agreeing on a strong level, and u of "same
    surname, same address" or "same date of birth" comes out tens of times too high.
    So u is corrected to what the non-matches alone give: (u − prior·m) / (1 − prior),
    from the sampled u each time (levels with term-frequency adjustments keep theirs:
    their weight does not use u).

    `candidates` holds the posterior `match_probability` and the gamma columns; the
    returned frame has `match_weight` shifted (deterministic pairs kept) and the
    pairwise `match_probability` recomputed from it. The linker's model is updated so
    the report shows the parameters that scored the links.
    """
    shift = pl.lit(0.0)
    for comparison in linker._settings_obj.comparisons:
        gamma = f"gamma_{comparison.output_column_name}"
        if gamma not in candidates.columns:
            continue
        levels = {
            lv.comparison_vector_value: lv for lv in comparison._comparison_levels_excluding_null
        }
        observed = (
            candidates.filter(pl.col(gamma).is_not_null() & (pl.col(gamma) >= 0))
            .group_by(gamma)
            .agg(pl.col("match_probability").sum().alias("expected"))
        )
        expected = dict(zip(observed[gamma].to_list(), observed["expected"].to_list(), strict=True))
        # Levels the model fixes keep their m; the others are shares of the pairs outside
        # them (see `_condition_on_fixed_level`).
        levels = {value: lv for value, lv in levels.items() if not _set_by_model(lv)}
        total = sum(expected.get(value, 0.0) for value in levels)
        if total < _REFIT_PSEUDO_PAIRS:
            continue  # too few matches to say more than EM did
        old = {value: float(lv.m_probability) for value, lv in levels.items()}
        new = {
            value: max(
                (expected.get(value, 0.0) + _REFIT_PSEUDO_PAIRS * m)
                / (total + _REFIT_PSEUDO_PAIRS),
                _M_FLOOR,
            )
            for value, m in old.items()
        }
        scale = sum(new.values())
        change = {}
        for value, level in levels.items():
            level.m_probability = new[value] / scale
            change[value] = math.log2(level.m_probability / old[value])
            if level._has_tf_adjustments or not level._has_estimated_u_values:
                continue
            sampled = getattr(level, "_evalink_sampled_u", None) or float(level.u_probability)
            level._evalink_sampled_u = sampled
            u_old = float(level.u_probability)
            level.u_probability = max(
                (sampled - prior * level.m_probability) / (1 - prior), _U_FLOOR_CORRECTED
            )
            change[value] -= math.log2(level.u_probability / u_old)
        shift = shift + pl.col(gamma).replace_strict(change, default=0.0, return_dtype=pl.Float64)
    weight = (
        pl.when(pl.col("deterministic"))
        .then(pl.col("match_weight"))
        .otherwise(pl.col("match_weight") + shift.fill_null(0.0))
    )
    return candidates.with_columns(weight.alias("match_weight")).with_columns(
        (1 / (1 + (2.0 ** -pl.col("match_weight")))).alias("match_probability")
    )
