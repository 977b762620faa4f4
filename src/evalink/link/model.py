"""The linkage model: which pairs are compared, and how each comparison is scored.

The comparisons are written with Splink's level creators so the same model renders to
DuckDB and to Spark SQL. Two things differ from a generic configuration:

* Household evidence is one comparison. Parents, children, twins and juniors share a
  surname, a postcode and an address. Scored as three independent comparisons, one
  household would be counted three times over and outweigh a different forename or
  date of birth. Here surname and location are crossed into one comparison, so the
  model learns how often a non-matching pair agrees on *both* (a household member),
  not the product of how often it agrees on each.
* Names and dates use the standardised columns (see `standardise.py`): nickname and
  transliteration groups, forename/surname swaps, Singh/Kaur as weak surnames,
  day/month swaps, and 1 January treated as weaker than any other exact date.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import polars as pl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_creator import ComparisonCreator

LinkType = Literal["link_only", "dedupe_only"]


def _forename(*, name_frequencies: bool = True) -> cl.CustomComparison:
    # A rare given name agreeing says more than a common one (Splink's term-frequency
    # adjustment, as for the surname).
    exact = cll.ExactMatchLevel("forename_main").configure(label_for_charts="exact")
    if name_frequencies:
        exact = exact.configure(tf_adjustment_column="forename_main", tf_adjustment_weight=1.0)
    return cl.CustomComparison(
        output_column_name="forename",
        comparison_levels=[
            # Missing on one side, unless that side wrote the given name as its surname.
            cll.CustomLevel(
                "(forename_main_l IS NULL OR forename_main_r IS NULL) AND NOT ("
                "coalesce(surname_for_swap_l = forename_main_r, false)"
                " OR coalesce(forename_main_l = surname_for_swap_r, false))",
                "forename missing",
            ).configure(is_null_level=True),
            exact,
            cll.ArrayIntersectLevel("forename_groups", 1).configure(
                label_for_charts="nickname or transliteration"
            ),
            cll.JaroWinklerLevel("forename_main", 0.92).configure(label_for_charts="typo"),
            cll.DamerauLevenshteinLevel("forename_main", 1).configure(
                label_for_charts="one letter different"
            ),
            cll.ColumnsReversedLevel(
                "forename_main", "surname_for_swap", symmetrical=True
            ).configure(label_for_charts="forename and surname swapped"),
            # Truncated or abbreviated (Ma / Malgorzata, Chris / Christopher).
            cll.CustomLevel(
                "length(forename_main_l) >= 2 AND length(forename_main_r) >= 2 AND"
                " (substr(forename_main_l, 1, length(forename_main_r)) = forename_main_r"
                " OR substr(forename_main_r, 1, length(forename_main_l)) = forename_main_l)",
                "one is the start of the other",
            ),
            # Name order differs on one side only: the given name sits in the surname
            # field (Kang Harpreet / Harpreet Kaur), common where family names are optional.
            cll.CustomLevel(
                "surname_for_swap_l = forename_main_r OR forename_main_l = surname_for_swap_r",
                "given name in the other's surname field",
            ),
            # One record gives a middle name as the main name (or a second given name).
            cll.ArrayIntersectLevel("forename_tokens", 1).configure(
                label_for_charts="shares another given name"
            ),
            cll.CustomLevel(
                "forename_is_religious_l OR forename_is_religious_r",
                "only Mohammed (or a variant) on one side",
            ),
            cll.JaroWinklerLevel("forename_main", 0.8).configure(label_for_charts="similar"),
            cll.ElseLevel(),
        ],
    )


def _dob() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.CustomLevel("dob_l = dob_r AND NOT dob_jan1_l", "exact"),
            cll.CustomLevel("dob_l = dob_r", "exact, on 1 January (often a placeholder)"),
            cll.CustomLevel(
                "dob_l = dob_swapped_r OR dob_swapped_l = dob_r", "day and month swapped"
            ),
            cll.DamerauLevenshteinLevel("dob", 1).configure(label_for_charts="one keying error"),
            cll.ExactMatchLevel("dob_year").configure(label_for_charts="same year"),
            cll.ElseLevel(),
        ],
    )


def _surname_and_location() -> cl.CustomComparison:
    """Surname crossed with where the person lives: one comparison for the household."""
    surname_same = cll.Or(
        cll.ExactMatchLevel("surname_std"),
        cll.ColumnsReversedLevel("surname_std", "forename_for_swap", symmetrical=True),
    )
    surname_close = cll.Or(
        cll.JaroWinklerLevel("surname_std", 0.9),
        # Double-barrelled or hyphenated on one side only.
        cll.ArrayIntersectLevel("surname_tokens", 1),
    )
    # Singh or Kaur as the only surname on one side: consistent with any family name, and
    # shared by a large community, so its own (weaker) levels.
    surname_religious = cll.CustomLevel("surname_is_religious_l OR surname_is_religious_r")
    same_address = cll.Or(
        cll.And(
            cll.ExactMatchLevel("postcode"),
            cll.Or(
                cll.ExactMatchLevel("address_numbers"), cll.JaroWinklerLevel("address_std", 0.9)
            ),
        ),
        cll.ExactMatchLevel("address_std"),
    )
    same_postcode = cll.Or(
        cll.ExactMatchLevel("postcode"), cll.JaroWinklerLevel("address_std", 0.9)
    )
    same_district = cll.ExactMatchLevel("postcode_outward")

    def level(condition: Any, label: str, **options: Any) -> Any:
        return condition.configure(label_for_charts=label, **options)

    return cl.CustomComparison(
        output_column_name="surname_location",
        comparison_levels=[
            cll.CustomLevel(
                "(surname_std_l IS NULL OR surname_std_r IS NULL)"
                " AND (postcode_l IS NULL OR postcode_r IS NULL)"
                " AND (address_std_l IS NULL OR address_std_r IS NULL)"
            ).configure(is_null_level=True),
            level(cll.And(surname_same, same_address), "same surname, same address"),
            level(cll.And(surname_same, same_postcode), "same surname, same postcode"),
            level(cll.And(surname_same, same_district), "same surname, same district"),
            # A common surname (Smith, Khan, Singh) agreeing elsewhere says less than a
            # rare one: weighted by how often the surname occurs.
            level(
                cll.ExactMatchLevel("surname_std"),
                "same surname, elsewhere",
                tf_adjustment_column="surname_std",
                tf_adjustment_weight=1.0,
            ),
            level(surname_same, "forename and surname swapped, elsewhere"),
            level(
                cll.And(surname_close, cll.Or(same_address, same_postcode)),
                "similar surname, same place",
            ),
            level(cll.And(surname_close, same_district), "similar surname, same district"),
            level(surname_close, "similar surname, elsewhere"),
            # Where the person lives says as much here as with any other surname: one
            # address is a household, one district is tens of thousands of people.
            *[
                level(cll.And(surname_religious, place), f"Singh or Kaur on one side, same {name}")
                for place, name in (
                    (same_address, "address"),
                    (same_postcode, "postcode"),
                    (same_district, "district"),
                )
            ],
            level(surname_religious, "Singh or Kaur on one side, elsewhere"),
            level(same_address, "different surname, same address"),
            level(same_postcode, "different surname, same postcode"),
            level(same_district, "different surname, same district"),
            cll.ElseLevel(),
        ],
    )


def _nino() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="nino",
        comparison_levels=[
            cll.NullLevel("nino"),
            cll.ExactMatchLevel("nino").configure(label_for_charts="exact"),
            cll.DamerauLevenshteinLevel("nino", 1).configure(label_for_charts="one keying error"),
            cll.ElseLevel(),
        ],
    )


def _sex() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[
            cll.NullLevel("sex"),
            # The same forename already says the same sex: counted again, two people
            # who share only a forename and a birthday would gain a bit for nothing.
            # Weight 0 (m = u, fixed). The copy of the forename keeps sex trainable in
            # blocks on the forename.
            cll.CustomLevel(
                "sex_l = sex_r AND forename_for_swap_l = forename_for_swap_r",
                "same, as the forename says",
            ).configure(
                m_probability=0.5,
                u_probability=0.5,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            cll.ExactMatchLevel("sex").configure(label_for_charts="exact"),
            cll.ElseLevel(),
        ],
    )


def with_model_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Copies of columns that a comparison reads from another comparison's field.

    Splink's EM leaves untrained every comparison that reads a column of the training
    block. The swap levels read the other name field, so they read a copy: blocking on
    surname then still trains the forename comparison, and vice versa. `birth_year` is
    a copy used only in blocking, so a block on it still trains date of birth.
    """
    return frame.drop("postcode_sector", strict=False).with_columns(
        pl.col("forename_main").alias("forename_for_swap"),
        pl.col("surname_std").alias("surname_for_swap"),
        pl.col("dob_year").alias("birth_year"),
    )


def comparisons(link_type: LinkType = "link_only") -> list[ComparisonCreator]:
    # Forename frequencies only when linking two files. In a council's dedupe the
    # frequencies are counted over its identifier copies, each person once per way a
    # service wrote them, not over people; measured, they cost council person
    # resolution families on 3 of 22 synthetic worlds (and gained nothing).
    forename = _forename(name_frequencies=link_type == "link_only")
    return [forename, _dob(), _surname_and_location(), _nino(), _sex()]


# Equal sex, counting "not given" as a value, so an equi-join key in DuckDB and Spark.
_SAME_SEX = "coalesce(l.sex, '') = coalesce(r.sex, '')"


def prediction_blocking_rules() -> list[Any]:
    """Candidate pairs: each rule recovers matches the others miss when one field has
    an error, so that no single wrong field can hide a match."""
    return [
        block_on("nino"),
        block_on("dob", "surname_std"),
        block_on("dob", "forename_main"),
        # Same name with the date of birth wrong in year or in day and month (name alone
        # would pair every Harpreet Kaur and John Smith: most of the cost, little gain).
        block_on("forename_main", "surname_std", "dob_year"),
        block_on("forename_main", "surname_std", "address_numbers"),
        "l.forename_main = r.forename_main AND l.surname_std = r.surname_std"
        " AND substr(l.dob, 6, 5) = substr(r.dob, 6, 5)",
        # Date of birth right, both names mistyped after their first letter.
        "l.dob = r.dob AND substr(l.forename_main, 1, 1) = substr(r.forename_main, 1, 1)"
        " AND substr(l.surname_std, 1, 1) = substr(r.surname_std, 1, 1)",
        # Date of birth right on the same street: names and house number all wrong.
        block_on("dob", "address_street"),
        # Rules on where a person lives pair them with their whole household (and, by
        # date of birth, with every neighbour's child born that day): sex, where both
        # or neither record give it, halves those pairs at the cost of a match that
        # also has sex miscoded — which other rules nearly always catch.
        f"l.dob = r.dob AND l.postcode_outward = r.postcode_outward AND {_SAME_SEX}",
        block_on("postcode", "forename_main"),
        # Same household address: recovers a record whose name and date of birth both
        # carry errors. Household members enter here too; the model tells them apart.
        f"l.postcode = r.postcode AND l.address_numbers = r.address_numbers AND {_SAME_SEX}",
        f"l.surname_std = r.surname_std AND l.postcode = r.postcode AND {_SAME_SEX}",
        f"l.address_std = r.address_std AND {_SAME_SEX}",
        f"l.dob = r.dob AND l.address_numbers = r.address_numbers AND {_SAME_SEX}",
        # Day and month swapped, surname kept.
        "l.dob_swapped = r.dob AND l.surname_std = r.surname_std",
        # Forename and surname swapped, anywhere; or the given name in the surname field.
        # Common name pairs (Priya Patel, Anna Nowak) would pair every such person with
        # every other written the other way round: the birth year or the birthday must
        # agree too (or be unknown).
        "l.forename_main = r.surname_std AND l.surname_std = r.forename_main AND ("
        "l.dob IS NULL OR r.dob IS NULL OR l.dob_year = r.dob_year"
        " OR substr(l.dob, 6, 5) = substr(r.dob, 6, 5))",
        "l.surname_std = r.forename_main AND l.dob = r.dob",
        "l.forename_main = r.surname_std AND l.dob = r.dob",
    ]


def evalink_settings(
    link_type: LinkType = "link_only", *, with_values: bool = True
) -> SettingsCreator:
    """`with_values`: keep both records' values beside each scored pair (the report's
    waterfall charts need them; a plain run does not, and they are most of the memory)."""
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="record_id",
        comparisons=comparisons(link_type),
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        # The gamma columns (level reached per comparison) feed the twin guard.
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=with_values,
        additional_columns_to_retain=[],
        # Parameters move by less than 0.001 after a handful of iterations on blocks
        # this clean; each further iteration is a full pass (a Spark job) for nothing.
        em_convergence=0.001,
        max_iterations=12,
    )


# A plain, well-tuned Splink configuration: what a competent analyst would write from the
# Splink documentation on the raw contract columns (lightly cleaned). Kept here so the
# benchmark and tests measure evalink against it on the same data in the same run.
def plain_splink_settings(link_type: LinkType = "link_only") -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="record_id",
        comparisons=[
            cl.NameComparison("forename"),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.8]),
            cl.ExactMatch("nino"),
            cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nino"),
            block_on("dob", "surname"),
            block_on("dob", "forename"),
            block_on("forename", "surname"),
            block_on("dob", "postcode"),
            block_on("postcode", "forename"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


GAMMAS = ["gamma_forename", "gamma_dob", "gamma_surname_location", "gamma_nino", "gamma_sex"]


def _levels(comparison: str, *labels: str) -> tuple[int, ...]:
    """The comparison vector values (gammas) of the levels with these chart labels."""
    settings = _settings_for_gammas()
    for compared in settings.comparisons:
        if compared.output_column_name == comparison:
            found = {
                lv.label_for_charts: lv.comparison_vector_value for lv in compared.comparison_levels
            }
            return tuple(found[label] for label in labels)
    raise KeyError(comparison)


@cache
def _settings_for_gammas() -> Any:
    return evalink_settings().get_settings("duckdb")


def same_birthday_siblings(records: pl.DataFrame) -> int:
    """Households in one file with two people of one date of birth and different
    forenames: twins. Counted to decide whether the data has twins to guard against."""
    keys = ["surname_std", "postcode", "dob"]
    return int(
        records.drop_nulls(keys)
        .group_by(keys)
        .agg(pl.col("forename_main").n_unique().alias("names"))
        .filter(pl.col("names") > 1)
        .height
    )


def veto_household_siblings(scored: pl.DataFrame) -> pl.DataFrame:
    """Twins are never linked to each other, nor juniors to their fathers.

    Fellegi-Sunter treats agreements as independent given non-match, with u learnt from
    random pairs. Inside one household they are not: two children sharing surname,
    address and date of birth are twins far more often than chance suggests, and only
    the forename tells them apart. A pair with that signature and different forenames
    is refused unless the NINO agrees. The cost is a true match whose forename was
    replaced wholesale within its own household — rarer than twins in UK records.
    """
    if scored.height == 0 or "gamma_forename" not in scored.columns:
        return scored
    different_forename = _levels("forename", "All other comparisons", "similar")
    same_dob = _levels("dob", "exact", "exact, on 1 January (often a placeholder)")
    same_home = _levels(
        "surname_location", "same surname, same address", "same surname, same postcode"
    )
    (same_nino,) = _levels("nino", "exact")
    same_forename = _levels("forename", "exact", "nickname or transliteration")
    (different_dob,) = _levels("dob", "All other comparisons")
    twins = (
        pl.col("gamma_forename").is_in(different_forename)
        & pl.col("gamma_dob").is_in(same_dob)
        & pl.col("gamma_surname_location").is_in(same_home)
        & (pl.col("gamma_nino") != same_nino)
    )
    # Juniors: the same name at the same address, born years apart (not a keying error
    # or a day/month swap) — a father and son, never one person.
    juniors = (
        pl.col("gamma_forename").is_in(same_forename)
        & (pl.col("gamma_dob") == different_dob)
        & pl.col("gamma_surname_location").is_in(same_home)
        & (pl.col("gamma_nino") != same_nino)
    )
    return scored.filter(~(twins | juniors))
