"""The linker assembles the research dataset: attributes and departmental outcomes joined
by reference number, then de-identified and verified before anything is sent.

Long format: one row per outcome record, the person's attributes repeated on each, and
one row with empty outcome fields for a person with none — so every cohort member is
present under a pseudonym, found by a department or not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from evalink.assemble.anonymity import AnonymityReport, k_anonymise
from evalink.assemble.pseudonyms import new_project_key, pseudonymise
from evalink.assemble.scan import identifier_values, scan
from evalink.errors import EvalinkError, InputError
from evalink.policy import FieldClass

if TYPE_CHECKING:
    from evalink.node import Node
    from evalink.policy import Policy

DATASET = "research_dataset"

# How each department's outcome fields become the research dataset's outcome columns.
OUTCOME_COLUMNS = {
    "dwp_outcomes": {
        "outcome": "spell_type",
        "outcome_start": "spell_start",
        "outcome_end": "spell_end",
    },
    "moj_outcomes": {
        "outcome": "event_type",
        "outcome_detail": ["sentence_type", "juvenile"],
        "outcome_start": "event_date",
    },
    "dfe_outcomes": {
        "outcome": "record_type",
        "outcome_detail": ["exclusion_type", "key_stage"],
        "outcome_start": "period_start",
        "outcome_end": "period_end",
        "outcome_value": ["sessions_missed", "attainment"],
        "outcome_base": "sessions_possible",
    },
}
OUTCOME_FIELDS = (
    "outcome",
    "outcome_detail",
    "outcome_start",
    "outcome_end",
    "outcome_value",
    "outcome_base",
)
SOURCE_NAMES = {"dwp_outcomes": "dwp", "moj_outcomes": "moj", "dfe_outcomes": "dfe"}


@dataclass
class Assembled:
    project: str
    package: Path
    persons: int
    rows: int
    anonymity: AnonymityReport
    linkage_quality: dict[str, dict] = field(default_factory=dict)
    missing_departments: list[str] = field(default_factory=list)


def _month(column: str) -> pl.Expr:
    # Dates go to month precision: a full date could be someone's date of birth, and
    # months are all the 7-24 month outcome windows need.
    return pl.col(column).cast(pl.Utf8).str.slice(0, 7)


def _first_present(frame: pl.DataFrame, spec: str | list[str]) -> pl.Expr:
    names = [spec] if isinstance(spec, str) else spec
    present = [pl.col(n).cast(pl.Utf8) for n in names if n in frame.columns]
    return pl.coalesce(present) if present else pl.lit(None, pl.Utf8)


def outcome_rows(dataset: str, frame: pl.DataFrame) -> pl.DataFrame:
    spec = OUTCOME_COLUMNS[dataset]
    columns = {name: _first_present(frame, source) for name, source in spec.items()}
    for name in ("outcome_start", "outcome_end"):
        if name in columns:
            columns[name] = columns[name].str.slice(0, 7)
    out = frame.select(
        "reference_number",
        pl.lit(SOURCE_NAMES[dataset]).alias("source"),
        *[expr.alias(name) for name, expr in columns.items()],
        pl.col("match_probability").cast(pl.Utf8),
    )
    for name in OUTCOME_FIELDS:
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, pl.Utf8).alias(name))
    return out.select("reference_number", "source", *OUTCOME_FIELDS, "match_probability")


def research_table(
    attributes: pl.DataFrame, outcomes: dict[str, pl.DataFrame], key: bytes
) -> pl.DataFrame:
    """Join and pseudonymise. The reference number is gone from the result."""
    people = attributes.select(
        "reference_number",
        pseudonymise(pl.col("reference_number"), key).alias("pseudonym"),
        pseudonymise(pl.col("family_reference"), key).alias("family_pseudonym"),
        "cohort",
        _month("attachment_date").alias("attachment_month"),
        "year_of_birth",
        "sex",
        "local_authority",
        "area_code",
        "headlines",
        "help_received",
        pl.col("keyworker_cost").cast(pl.Utf8),
    )
    rows = [outcome_rows(dataset, frame) for dataset, frame in sorted(outcomes.items())]
    records = pl.concat(rows, how="vertical") if rows else None
    if records is None or records.height == 0:
        joined = people
    else:
        # Matched people with no outcome in the window came back with empty outcome
        # fields; they stay as one row each.
        joined = people.join(records, on="reference_number", how="left")
    return joined.drop("reference_number")


def verify(table: pl.DataFrame, policy: Policy, vault_identifiers: pl.DataFrame) -> None:
    """Refuse to release anything carrying a direct identifier, by column or by value."""
    present = sorted(policy.direct_identifier_fields() & set(table.columns))
    if present:
        raise EvalinkError(
            f"research dataset refused: column '{present[0]}' is a direct identifier"
        )
    findings = scan(table, vault_identifiers)
    if findings:
        first = findings[0]
        raise EvalinkError(
            f"research dataset refused: column '{first.column}' holds {first.rows} value(s) equal "
            f"to a '{first.identifier_field}' held in the vault"
        )


def quasi_identifiers(policy: Policy, table: pl.DataFrame) -> list[str]:
    """The research dataset's quasi-identifiers, as the policy classes them, that the
    table holds: k-anonymity is counted on these. One the table does not hold is not
    released (only the dataset's fields present are sent), so there is nothing to count."""
    return [name for name in policy.quasi_identifiers(DATASET) if name in table.columns]


def outcome_flows(policy: Policy, linker: str) -> dict[str, str]:
    """department → the outcomes dataset the policy has it return to the linker."""
    return {
        flow.from_: flow.dataset
        for flow in policy.flows_to(linker)
        if policy.party(flow.from_).department and flow.dataset in OUTCOME_COLUMNS
    }


def missing_outcomes(node: Node, allow_missing: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The departments whose outcomes have not come back, or refuse while any has not
    and was not named in `allow_missing`: a dataset quietly built from one department
    would read as if the others had found nothing."""
    expected = outcome_flows(node.policy, node.party)
    unknown = sorted(set(allow_missing) - set(expected))
    if unknown:
        raise InputError(
            f"--allow-missing: '{unknown[0]}' is not a department that returns outcomes under "
            f"the policy (departments: {', '.join(sorted(expected))})"
        )
    missing = sorted(d for d, dataset in expected.items() if not node.parts(dataset))
    waiting = [d for d in missing if d not in allow_missing]
    if waiting:
        raise InputError(
            f"outcomes not yet received from {', '.join(waiting)}: run `evalink receive` once "
            "they arrive, or name them with --allow-missing to assemble without them "
            "(recorded in the audit log and the dataset's notes)"
        )
    return missing


def assemble(
    node: Node,
    project: str,
    to: str = "research",
    allow_missing: list[str] | tuple[str, ...] = (),
) -> Assembled:
    """Build, verify and seal the research dataset for `project`.

    Each project has its own pseudonym key (kept in the linker's vault): a new project
    gets new pseudonyms that cannot be joined to another project's. A project is
    assembled once; assembling it again is refused so research never holds it twice.
    The key and the package are stored together only once the dataset has passed its
    checks, so a refused assembly leaves the project name free for a retry.
    """
    if not project.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"--project: '{project}' must be letters, digits, '-' or '_'")
    if node.parts("attributes") == []:
        raise InputError(f"node '{node.party}' holds no attributes; run `evalink receive` first")
    keys = _project_keys(node)
    if project in keys:
        raise InputError(
            f"project '{project}' was already assembled; start a new project for a new release"
        )
    missing = missing_outcomes(node, allow_missing)
    key = new_project_key()

    attributes = pl.from_arrow(node.read_dataset("attributes", purpose=f"assemble {project}"))
    outcomes, quality = {}, {}
    for dataset in OUTCOME_COLUMNS:
        if node.parts(dataset):
            outcomes[dataset] = pl.from_arrow(
                node.read_dataset(dataset, purpose=f"assemble {project}")
            )
            quality[SOURCE_NAMES[dataset]] = node.package_notes(dataset).get("linkage_quality", {})
    table = research_table(attributes, outcomes, key)
    k = node.policy.k_anonymity(to)
    table, report = k_anonymise(table, quasi_identifiers(node.policy, table), k)
    fields = node.policy.dataset(DATASET).field_names()
    table = table.select([name for name in fields if name in table.columns])

    vault = pl.from_arrow(
        node.read_dataset("identifiers", purpose=f"assemble {project}: identifier scan")
    )
    verify(
        table,
        node.policy,
        identifier_values(
            vault, node.policy.dataset("identifiers").fields_of_class(FieldClass.DIRECT_IDENTIFIER)
        ),
    )

    persons = table["pseudonym"].n_unique()
    with node.transaction(f"assemble {project}"):
        node.write_dataset(
            "project_keys",
            pa.table({"project": [project], "key": [key.hex()]}),
            vault=True,
            source="assemble",
        )
        package = node.send(
            to,
            DATASET,
            table.to_arrow(),
            notes={
                "project": project,
                "linkage_quality": quality,
                "k_anonymity": asdict(report),
                "missing_departments": missing,
            },
        )
        node.record_on_commit(
            "assemble", project=project, persons=persons,
            rows=table.height, missing_departments=missing,
            allowed_missing=sorted(set(allow_missing)),
        )
    return Assembled(project, package, persons, table.height, report, quality, missing)


def _project_keys(node: Node) -> dict[str, str]:
    if not node.parts("project_keys"):
        return {}
    keys = pl.from_arrow(node.read_dataset("project_keys", purpose="assemble"))
    return dict(zip(keys["project"].to_list(), keys["key"].to_list(), strict=True))


def __getattr__(name: str) -> list[str]:
    # `QUASI_IDENTIFIERS` was a list of this module's own; the policy says which fields
    # are quasi-identifiers now. Kept importable, from the example policy, only until
    # demo.py asks its own policy (`policy.quasi_identifiers(DATASET)`).
    if name == "QUASI_IDENTIFIERS":
        from evalink.examples import example
        from evalink.policy import load_policy

        return load_policy(example("troubled-families.yaml")).quasi_identifiers(DATASET)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
