"""Which fields identify reads as identifiers is the policy's to say: a policy that adds
or renames an identifier changes what a mapping may name and what every record carries.
The linkage engine that resolves persons still gets its own contract's columns."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from evalink.errors import InputError
from evalink.identify.persons import resolve_persons
from evalink.identify.sources import identifier_fields, ingest, load_mapping
from evalink.link import CONTRACT_COLUMNS
from tests.policy.identifier_variants import policy_adding, policy_renaming
from tests.tables import table

# One housing extract whose third identifier column is mapped to IDENTIFIER.
MAPPING = (
    "sources: [{name: housing, file: housing.csv, record_id: ref,"
    " identifiers: {forename: first, surname: last, IDENTIFIER: number}}]"
)
HOUSING = "ref,first,last,number\nH1,Ann,Smith,QQ123456C\n"


def mapping_naming(tmp_path: Path, identifier: str) -> Path:
    (tmp_path / "housing.csv").write_text(HOUSING, encoding="utf-8")
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING.replace("IDENTIFIER", identifier), encoding="utf-8")
    return path


def test_identify_reads_the_identifiers_the_policy_names_for_its_identifiers_dataset(
    example_policy,
):
    assert identifier_fields(example_policy) == tuple(
        example_policy.identifying_fields("identifiers")
    )


def test_without_a_policy_identify_reads_what_the_linkage_engine_compares():
    assert identifier_fields() == tuple(c for c in CONTRACT_COLUMNS if c != "record_id")


def test_a_mapping_may_name_an_identifier_the_policy_adds(tmp_path):
    fields = identifier_fields(policy_adding("middle_name"))
    path = mapping_naming(tmp_path, "middle_name")
    records = ingest(load_mapping(path, fields), tmp_path, fields).records
    assert records["middle_name"].to_list() == ["QQ123456C"]
    assert records["nino"].to_list() == [None]  # the policy's other identifiers, empty


def test_a_mapping_naming_an_identifier_by_a_name_the_policy_no_longer_uses_is_refused(
    tmp_path,
):
    fields = identifier_fields(policy_renaming("nino", "ni_number"))
    with pytest.raises(
        InputError, match=r"identifiers\.nino: not an identifier field \(use .*ni_number"
    ):
        load_mapping(mapping_naming(tmp_path, "nino"), fields)
    records = ingest(load_mapping(mapping_naming(tmp_path, "ni_number"), fields), tmp_path, fields)
    assert "nino" not in records.records.columns


def test_persons_are_resolved_on_the_link_contract_whatever_the_policy_calls_its_fields(
    monkeypatch,
):
    given: list[pl.DataFrame] = []

    def spy(table: pl.DataFrame, **_: object):  # the engine itself is tested in tests/link
        given.append(table)
        clusters = table.select("record_id", pl.int_range(pl.len()).alias("cluster_id"))
        return type("Deduped", (), {"clusters": clusters})()

    monkeypatch.setattr("evalink.link.dedupe", spy)
    records = table(
        """
        record_key | forename | surname | dob        | sex | postcode | address   | ni_number
        housing:H1 | Ann      | Smith   | 1980-02-01 | F   | B69 3DL  | 12 Hill St | QQ123456C
        """
    )
    persons = resolve_persons(records)
    assert given[0].columns == list(CONTRACT_COLUMNS)
    assert given[0]["nino"].to_list() == [None]  # compared as missing, never guessed
    assert persons["person_key"].to_list() == ["P1"]
