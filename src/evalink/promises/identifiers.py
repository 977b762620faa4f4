"""Promises about identifiers: kept apart from everything else, and researchers given
a reference they cannot identify anyone by.

`identifiers-kept-separately`: no part outside a vault has a direct-identifier field
(the catalog now, and every store and receipt in the logs since the node began); every
dataset in a main store, read, holds no value equal to a cohort member's identifier;
no export carried one.

`unique-reference-number`: the council's reference numbers are one per person and none
is repeated; the dataset researchers hold has no identifier column, no value equal to a
cohort member's identifier or reference number, and every combination of its
quasi-identifiers is shared by at least k persons. That the numbers are random (not
derived from identifiers) is the share stage's to ensure; it is not tested here.
"""

from __future__ import annotations

import polars as pl

from evalink.assemble.deidentify import class_sizes
from evalink.policy import FieldClass, Policy, SafeguardKind
from evalink.promises.cohort import REFERENCE_FIELDS, Cohort, hits, identifier_fields
from evalink.promises.nodes import NodeEvidence, unreadable
from evalink.promises.report import Finding, broken, checked, unchecked

VAULT = "vault"
PSEUDONYM = "pseudonym"


def check_separation(
    policy: Policy, nodes: dict[str, NodeEvidence], cohort: Cohort | None
) -> list[Finding]:
    identifiers = set(identifier_fields(policy))
    findings: list[Finding] = []
    vaulted: set[str] = set()
    logged = 0
    for party, node in nodes.items():
        for part in node.parts:
            fields = identifiers & set(part.fields)
            if fields and part.location != VAULT:
                findings.append(
                    broken(
                        f"{party}: '{part.dataset}' holds {', '.join(sorted(fields))} outside the vault"
                    )
                )
            elif fields:
                vaulted.add(f"{party}:{part.dataset}")
        for entry in node.entries("store", "receive"):
            d = entry["details"]
            fields = identifiers & set(d.get("fields") or [])
            if not fields:
                continue
            logged += 1
            if d.get("location") != VAULT:
                findings.append(
                    broken(
                        f"{party}'s log: '{d.get('dataset')}' with {', '.join(sorted(fields))} was "
                        f"put in the {d.get('location')}"
                    )
                )
        for entry in node.entries("export"):
            fields = identifiers & set(entry["details"].get("fields") or [])
            if fields:
                findings.append(
                    broken(
                        f"{party} exported '{entry['details'].get('dataset')}' with "
                        f"{', '.join(sorted(fields))} to a clear file"
                    )
                )
    if not vaulted and not logged:
        return [unchecked("no node holds or has held identifiers yet")]
    findings += _store_scan(nodes, cohort)
    if not any(f.broken for f in findings):
        findings.append(
            checked(
                f"{len(vaulted)} dataset(s) with identifier fields, all in vaults; {logged} stores "
                "and receipts of identifiers in the logs, all into vaults; no export carried one"
            )
        )
    return findings


def _store_scan(nodes: dict[str, NodeEvidence], cohort: Cohort | None) -> list[Finding]:
    if cohort is None:
        return [
            unchecked("main stores not compared by value: no node holds the cohort's identifiers")
        ]
    wanted = cohort.values.filter(~pl.col("field").is_in(REFERENCE_FIELDS))
    findings: list[Finding] = []
    scanned = 0
    for party, node in nodes.items():
        findings += unreadable(node)
        for held in node.held.values():
            if held.location == VAULT:
                continue
            scanned += 1
            found = hits(held.values, wanted)
            if found.height:
                findings.append(
                    broken(
                        f"{party}: '{held.dataset}' in the main store holds "
                        f"{found['value'].n_unique():,} value(s) equal to cohort identifiers "
                        f"({', '.join(sorted(set(found['field'])))}) in column(s) "
                        f"{', '.join(sorted(set(found['column'])))}"
                    )
                )
    if not any(f.broken for f in findings):
        findings.append(
            checked(
                f"{scanned} main-store dataset(s) read and compared with {cohort.persons:,} "
                "persons' identifiers: none found"
            )
        )
    return findings


def released_datasets(policy: Policy) -> dict[str, set[str]]:
    """party → the datasets flows give it, for the parties a k-anonymity safeguard
    protects (the researchers)."""
    released: dict[str, set[str]] = {}
    for guard in policy.safeguards(SafeguardKind.K_ANONYMITY):
        for party in guard.to:
            released[party] = {f.dataset for f in policy.flows_to(party)}
    return released


def check_reference_numbers(
    policy: Policy, nodes: dict[str, NodeEvidence], cohort: Cohort | None
) -> list[Finding]:
    return _unique_references(cohort) + check_research_datasets(policy, nodes, cohort)


def check_research_datasets(
    policy: Policy, nodes: dict[str, NodeEvidence], cohort: Cohort | None
) -> list[Finding]:
    """What researchers hold: no identifier column, no cohort member's identifier or
    reference number, k-anonymous (the motivated intruders a promise names are checked
    beside this, by `promises.intruders`)."""
    findings: list[Finding] = []
    released = released_datasets(policy)
    if not released:
        findings.append(unchecked("the policy names no researchers (no k-anonymity safeguard)"))
    for party, datasets in released.items():
        node = nodes.get(party)
        if node is None:
            findings.append(unchecked(f"{party}: no node in this workdir"))
            continue
        tables = [node.held[d] for d in sorted(datasets) if d in node.held]
        if not tables:
            gone = [
                f"{d} {node.reads_of_gone[d]}" for d in sorted(datasets) if d in node.reads_of_gone
            ]
            findings.append(
                unchecked(
                    f"{party} holds no {', '.join(sorted(datasets))}"
                    + (f" (reading {'; '.join(gone)})" if gone else " yet")
                )
            )
            continue
        for held in tables:
            findings += _research_dataset(
                policy, party, held.dataset, held.table, held.values, cohort
            )
    return findings


def _unique_references(cohort: Cohort | None) -> list[Finding]:
    if cohort is None:
        return [unchecked("reference numbers not checked: no node holds them")]
    numbers = cohort.values.filter(pl.col("field") == "reference_number")
    if numbers.height == 0:
        return [unchecked("no reference numbers given yet")]
    per_person = numbers.group_by("person_key").agg(pl.col("value").n_unique().alias("n"))
    per_number = numbers.group_by("value").agg(pl.col("person_key").n_unique().alias("n"))
    several = per_person.filter(pl.col("n") > 1).height
    repeated = per_number.filter(pl.col("n") > 1).height
    if several or repeated:
        return [
            broken(
                f"{several} person(s) with more than one reference number, {repeated} number(s) "
                "given to more than one person"
            )
        ]
    return [
        checked(
            f"{per_person.height:,} reference numbers given by {cohort.party} (as it held them on "
            f"{cohort.read_on}), one per person, none repeated"
        )
    ]


def _research_dataset(
    policy: Policy,
    party: str,
    dataset: str,
    table: pl.DataFrame | None,
    values: pl.DataFrame,
    cohort: Cohort | None,
) -> list[Finding]:
    assert table is not None
    findings: list[Finding] = []
    columns = sorted(set(table.columns) & set(policy.fields_of_class(FieldClass.DIRECT_IDENTIFIER)))
    if columns:
        findings.append(
            broken(f"{party}: '{dataset}' has identifier column(s) {', '.join(columns)}")
        )
    if cohort is None:
        findings.append(
            unchecked(f"{party}: '{dataset}' not compared by value: no cohort to compare with")
        )
    else:
        found = hits(values, cohort.values)
        if found.height:
            findings.append(
                broken(
                    f"{party}: '{dataset}' holds {found['value'].n_unique():,} value(s) equal to cohort "
                    f"identifiers or reference numbers ({', '.join(sorted(set(found['field'])))})"
                )
            )
    k = policy.k_anonymity(party)
    quasi = [q for q in policy.quasi_identifiers(dataset) if q in table.columns]
    person = PSEUDONYM if PSEUDONYM in table.columns else None
    if person is None:
        findings.append(
            broken(f"{party}: '{dataset}' has no {PSEUDONYM} column to count persons by")
        )
        return findings
    persons = table.select(person, *quasi).unique()
    inconsistent = persons.height - persons[person].n_unique()
    # Counted as evalink.assemble counts them: a value withheld from a person could be
    # anyone's, so a person is one of all who show what they show.
    sizes = class_sizes(persons, quasi) if quasi else pl.DataFrame({"size": [persons.height]})
    small = sizes.filter(pl.col("size") < k)
    if inconsistent or small.height:
        smallest_small = int(small["size"].min()) if small.height else 0
        findings.append(
            broken(
                f"{party}: '{dataset}': {small.height:,} person(s) in groups smaller than "
                f"k={k} on {', '.join(quasi)} (the smallest {smallest_small}); {inconsistent} "
                "person(s) with more than one combination"
            )
        )
    if not any(f.broken for f in findings):
        smallest = int(sizes["size"].min() or 0) if sizes.height else 0
        findings.append(
            checked(
                f"{party}: '{dataset}' has {table[person].n_unique():,} pseudonyms, no identifier "
                f"column, no value equal to a cohort identifier or reference number; smallest "
                f"group on {', '.join(quasi)} is {smallest} (k={k})"
            )
        )
    return findings
