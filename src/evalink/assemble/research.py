"""The linker assembles the research dataset: attributes and departmental outcomes joined
by reference number, then de-identified and verified before anything is sent.

Long format: one row per outcome record, the person's attributes repeated on each, and
one row with empty outcome fields for a person with none — so every cohort member is
present under a pseudonym, found by a department or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from evalink.assemble.deidentify import Deidentified, deidentify
from evalink.assemble.generalise import RELEASED
from evalink.assemble.intruder import check_columns
from evalink.assemble.pseudonyms import new_project_key, pseudonym, pseudonymise
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
    deidentified: Deidentified
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
    """Join and pseudonymise: the exact table, before generalisation (it never leaves
    the linker). The reference number is gone from it; calendar months are still in it
    (`index_month`, `outcome_start`, `outcome_end`), for `generalise` to turn into
    months since the index date."""
    people = attributes.select(
        "reference_number",
        pseudonymise(pl.col("reference_number"), key).alias("pseudonym"),
        pseudonymise(pl.col("family_reference"), key).alias("family_pseudonym"),
        "cohort",
        _month("attachment_date").alias("index_month"),
        "year_of_birth",
        "sex",
        "local_authority",
        "headlines",
        "help_received",
        pl.col("keyworker_cost").cast(pl.Utf8),
    )
    people = _index_months(people, key).with_columns(
        pl.len().over("family_pseudonym").cast(pl.Utf8).alias("family_size")
    )
    rows = [outcome_rows(dataset, frame) for dataset, frame in sorted(outcomes.items())]
    records = pl.concat(rows, how="vertical") if rows else None
    if records is None or records.height == 0:
        joined = people.with_columns(
            pl.lit(None, pl.Utf8).alias(name) for name in ("source", *OUTCOME_FIELDS, "match_probability")
        )
    else:
        # Matched people with no outcome in the window came back with empty outcome
        # fields; they stay as one row each.
        joined = people.join(records, on="reference_number", how="left")
    return joined.drop("reference_number")


def _index_months(people: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Each family's index month: the month it was attached, or for a family not (yet)
    worked with, one drawn from the attached families' months, so its outcomes can be
    compared from a date distributed as theirs. The draw is keyed by the project key:
    the same for a rebuild, unknown to anyone without the key (the council cannot work
    it out, so it cannot place a waiting family's events in calendar time)."""
    families = people.select("family_pseudonym", "index_month").unique().sort("family_pseudonym")
    attached = families["index_month"].drop_nulls().sort().to_list()
    if attached:
        drawn = [
            attached[int(pseudonym("index:" + family, key), 16) % len(attached)]
            for family in families["family_pseudonym"].to_list()
        ]
    else:
        drawn = [None] * families.height
    choice = families.with_columns(pl.Series("drawn", drawn, dtype=pl.Utf8)).drop("index_month")
    return (
        people.join(choice, on="family_pseudonym", how="left")
        .with_columns(
            pl.when(pl.col("index_month").is_not_null())
            .then(pl.lit("attachment"))
            .otherwise(pl.lit("drawn"))
            .alias("index_source"),
            pl.coalesce("index_month", "drawn").alias("index_month"),
        )
        .drop("drawn")
    )


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


def _exact_table(node: Node, project: str, key: bytes) -> tuple[pl.DataFrame, dict[str, dict]]:
    """The exact research table for `project` (it never leaves the linker), and each
    department's linkage quality."""
    attributes = pl.from_arrow(node.read_dataset("attributes", purpose=f"assemble {project}"))
    outcomes, quality = {}, {}
    for dataset in OUTCOME_COLUMNS:
        if node.parts(dataset):
            outcomes[dataset] = pl.from_arrow(
                node.read_dataset(dataset, purpose=f"assemble {project}")
            )
            quality[SOURCE_NAMES[dataset]] = node.package_notes(dataset).get("linkage_quality", {})
    return research_table(attributes, outcomes, key), quality


def _deidentified(node: Node, exact: pl.DataFrame, to: str) -> tuple[pl.DataFrame, Deidentified]:
    policy = node.policy
    fields = policy.dataset(DATASET).field_names()
    quasi = [q for q in policy.quasi_identifiers(DATASET) if q in RELEASED]
    intruders = policy.intruders(DATASET)
    for intruder in intruders:
        check_columns(intruder, [f for f in fields if f in RELEASED])
    table, report = deidentify(exact, intruders, policy.k_anonymity(to), quasi)
    return table.select([name for name in fields if name in table.columns]), report


def refusal(report: Deidentified) -> str | None:
    """Why `report` does not allow the dataset to be sent, or None."""
    for risk in report.risks:
        if risk.enforced and not risk.within:
            return (
                f"research dataset refused: intruder '{risk.intruder}' re-identifies "
                f"{risk.reidentified:,} of {risk.units:,} {risk.units_word} ({risk.share:.2%}; the "
                f"policy accepts {risk.bound:.2%}) even with everything it knows withheld"
            )
    if report.smallest_class < report.k:
        return (
            f"research dataset refused: a combination of {', '.join(report.quasi_identifiers)} "
            f"is shared by {report.smallest_class} persons (k={report.k})"
        )
    return None


def assemble(
    node: Node,
    project: str,
    to: str = "research",
    allow_missing: list[str] | tuple[str, ...] = (),
) -> Assembled:
    """Build, de-identify, attack, verify and seal the research dataset for `project`.

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
    exact, quality = _exact_table(node, project, key)
    table, report = _deidentified(node, exact, to)
    refused = refusal(report)
    if refused:
        raise EvalinkError(refused)

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
                "deidentification": report.as_dict(),
                "missing_departments": missing,
            },
        )
        node.record_on_commit(
            "assemble", project=project, persons=persons,
            rows=table.height, missing_departments=missing,
            allowed_missing=sorted(set(allow_missing)),
            intruders={r.intruder: r.reidentified for r in report.risks},
        )
    return Assembled(project, package, persons, table.height, report, quality, missing)


def intruder_test(node: Node, project: str, to: str = "research") -> tuple[bool, Deidentified]:
    """The motivated-intruder test of `project`'s dataset, without sending anything:
    (assembled?, report). For a project assembled already, the dataset is rebuilt with
    its own key exactly as it was sent (the generalisation is deterministic); for a new
    name, what `assemble` would release now, with a key used once and thrown away."""
    if not project.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"--project: '{project}' must be letters, digits, '-' or '_'")
    if node.parts("attributes") == []:
        raise InputError(f"node '{node.party}' holds no attributes; run `evalink receive` first")
    keys = _project_keys(node)
    key = bytes.fromhex(keys[project]) if project in keys else new_project_key()
    exact, _ = _exact_table(node, project, key)
    _, report = _deidentified(node, exact, to)
    return project in keys, report


def _project_keys(node: Node) -> dict[str, str]:
    if not node.parts("project_keys"):
        return {}
    keys = pl.from_arrow(node.read_dataset("project_keys", purpose="assemble"))
    return dict(zip(keys["project"].to_list(), keys["key"].to_list(), strict=True))
