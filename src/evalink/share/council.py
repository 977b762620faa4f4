"""The council shares its cohort with the linker: identifiers and attributes, apart.

Each cohort person becomes two records joined only by a random reference number: an
identifiers record (name, date of birth, sex, address, postcode, NINO if known — the
policy's allow-list, nothing else) and an attributes record (family reference, cohort,
dates, headlines, help, costs). The linker keeps the first in its vault and the second
in its store, so no one holding one half can read the other.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from evalink.errors import InputError
from evalink.identify.retention import DESTROY_BY
from evalink.node.node import ROW_RULE
from evalink.records import address_key, most_common

if TYPE_CHECKING:
    from evalink.node import Node

REFERENCE_HEX_DIGITS = 12  # 48 random bits; duplicates are redrawn


@dataclass
class Shared:
    identifiers: Path
    attributes: Path
    persons: int
    families: int


def random_references(n: int, prefix: str) -> list[str]:
    """n distinct random references. Random, never derived from identifiers: a reference
    number must reveal nothing and be impossible to recompute from a name."""
    seen: set[str] = set()
    out = []
    while len(out) < n:
        value = prefix + secrets.token_hex(REFERENCE_HEX_DIGITS // 2).upper()
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


# Taken together, as one place: never one service's street with another's postcode.
PLACE_FIELDS = ("address", "postcode")


def person_identifiers(records: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    """One row per person of the identifier `fields`: each field's most common value
    across services, address and postcode as the most common pair of the two.

    `records` come from the last identify run; one made with other identifier fields
    than the policy's now is refused rather than sent with a field missing.
    """
    missing = [name for name in fields if name not in records.columns]
    if missing:
        raise InputError(
            f"the council's identify records have no field '{missing[0]}' that the policy's "
            "identifiers dataset names: run `evalink identify` again under this policy"
        )
    people = records.select("person_key").unique()
    paired = set(PLACE_FIELDS) <= set(fields)
    for column in fields:
        if not (paired and column in PLACE_FIELDS):
            people = people.join(most_common(records, column), on="person_key", how="left")
    if paired:
        people = people.join(_most_common_place(records), on="person_key", how="left")
    return people.select("person_key", *fields)


def _most_common_place(records: pl.DataFrame) -> pl.DataFrame:
    """Per person, the address and postcode of the place their records give most often."""
    place = records.with_columns(
        address_key(pl.col("postcode"), pl.col("address")).alias("_place")
    ).filter(pl.col("_place").is_not_null())
    counts = place.group_by("person_key", "_place").agg(
        pl.len().alias("_n"), pl.col("address").first(), pl.col("postcode").first()
    )
    return (
        counts.sort(["person_key", "_n", "_place"], descending=[False, True, False])
        .group_by("person_key", maintain_order=True)
        .first()
        .select("person_key", "address", "postcode")
    )


def area_code(postcode: pl.Expr) -> pl.Expr:
    """The postcode sector ('B69 3'): a small area, never an address."""
    clean = postcode.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    return pl.when(clean.str.len_chars() >= 5).then(
        clean.str.slice(0, clean.str.len_chars() - 3) + " " + clean.str.slice(-3, 1)
    )


def cohort_tables(
    records: pl.DataFrame,
    persons: pl.DataFrame,
    families: pl.DataFrame,
    local_authority: str,
    *,
    identifier_fields: Sequence[str],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(identifiers, attributes, reference numbers) for every member of a cohort family.

    `records`: the vault's identify_records (person_key + identifiers per record);
    `persons`: person_key, family_key; `families`: the identify_families table;
    `identifier_fields`: what the policy's identifiers dataset names as identifiers.
    The third table (person_key → reference_number) stays in the council's vault.
    """
    in_cohort = families.filter(pl.col("cohort").is_in(["attached", "eligible_waiting"]))
    members = (
        persons.select("person_key", "family_key")
        .unique()
        .join(in_cohort, on="family_key", how="inner")
        .sort("person_key")
    )
    family_refs = pl.DataFrame(
        {
            "family_key": in_cohort["family_key"].sort(),
            "family_reference": random_references(in_cohort.height, "F"),
        }
    )
    members = members.join(family_refs, on="family_key").with_columns(
        pl.Series("reference_number", random_references(members.height, "R"))
    )
    ids = person_identifiers(
        records.join(members.select("person_key"), on="person_key"), identifier_fields
    )
    identifiers = members.select("person_key", "reference_number").join(ids, on="person_key")
    dob = pl.col("dob").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    attributes = members.join(
        ids.select("person_key", "dob", "sex", "postcode"), on="person_key"
    ).select(
        "reference_number",
        "family_reference",
        "cohort",
        pl.col("attachment_date").cast(pl.Utf8),
        dob.dt.year().cast(pl.Utf8).alias("year_of_birth"),
        "sex",
        pl.lit(local_authority).alias("local_authority"),
        area_code(pl.col("postcode")).alias("area_code"),
        pl.col("headlines").list.join(";").alias("headlines"),
        pl.when(pl.col("cohort") == "attached").then(pl.lit("keyworker")).alias("help_received"),
        "keyworker_cost",
    )
    # The council's own key from person to reference number falls due with the family's
    # other records (identify dates each family; a table from before has no dates).
    dates = [c for c in (DESTROY_BY, ROW_RULE) if c in members.columns]
    references = members.select(
        "person_key", "family_key", "reference_number", "family_reference", *dates
    )
    return identifiers.drop("person_key"), attributes, references


def share(node: Node, to: str = "linker", local_authority: str = "Sandwell") -> Shared:
    """Split the cohort into identifiers and attributes and seal both for `to`.

    A council shares a cohort once: a second share would give the same people new
    reference numbers and the linker would hold them twice, so it is refused. The
    reference numbers and both packages are one transaction: if either package cannot
    be sealed (the linker's key not yet trusted, say), nothing is kept and the share
    can simply be run again.
    """
    if node.parts("reference_numbers"):
        raise InputError(
            "the cohort was already shared from this node (dataset 'reference_numbers' "
            f"exists); its packages are in {node.dir / 'outbox'} until delivered, then in "
            f"{node.dir / 'outbox' / 'sent'}"
        )
    records = pl.from_arrow(node.read_dataset("identify_records", purpose="share"))
    persons = pl.from_arrow(node.read_dataset("identify_persons", purpose="share"))
    families = pl.from_arrow(node.read_dataset("identify_families", purpose="share"))
    identifiers, attributes, references = cohort_tables(
        records,
        persons,
        families,
        local_authority,
        identifier_fields=node.policy.identifying_fields("identifiers"),
    )
    with node.transaction("share"):
        node.write_dataset(
            "reference_numbers", references.to_arrow(), vault=True, replace=True, source="share",
            row_destroy_by=DESTROY_BY if DESTROY_BY in references.columns else None,
        )
        identifiers_path = node.send(to, "identifiers", identifiers.to_arrow())
        attributes_path = node.send(to, "attributes", attributes.to_arrow())
    return Shared(
        identifiers_path,
        attributes_path,
        identifiers.height,
        attributes["family_reference"].n_unique(),
    )
