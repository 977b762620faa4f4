"""Reading local extracts through a mapping file; unusable rows are quarantined, not lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from evalink.errors import InputError
from evalink.identify.sources import ingest, load_mapping

MAPPING = """
sources:
  - name: police
    file: police.csv
    record_id: ref
    identifiers: {forename: first, surname: last, dob: born}
    date_format: "%d/%m/%Y"
    codes: {kind: [asb, crime]}
    events:
      - {indicator: asb_incident, start: when, where: {kind: [asb]}}
      - {indicator: offence, start: when, where: {kind: [crime]}}
  - name: school
    file: school.csv
    record_id: ref
    identifiers: {forename: first, surname: last}
    events:
      - indicator: school_sessions
        term: {academic_year: year, term: term}
        value: missed
        base: possible
"""

POLICE = """ref,first,last,born,kind,when
P1,Ann,Smith,01/02/1980,asb,03/04/2015
P2,Bob,Jones,05/06/1979,crime,31/02/2015
P3,Cat,Brown,07/08/1990,burglary,01/01/2015
P3,Dan,Green,07/08/1991,crime,02/01/2015
P5,Eve,Black,09/10/1985,crime,04/05/2015
"""

SCHOOL = """ref,first,last,year,term,missed,possible
S1,Ann,Smith,2014/15,autumn,10,140
S2,Bob,Jones,2014/15,winter,3,118
S3,Cat,Brown,2014/15,spring,lots,118
"""


@pytest.fixture
def extracts(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "police.csv").write_text(POLICE, encoding="utf-8")
    (tmp_path / "school.csv").write_text(SCHOOL, encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return mapping, tmp_path


def test_each_unusable_row_is_quarantined_with_its_reason(extracts):
    mapping, sources = extracts
    ingested = ingest(load_mapping(mapping), sources)
    assert ingested.quarantine.sort("source", "row").to_dicts() == [
        {
            "source": "police",
            "row": 2,
            "column": "when",
            "reason": "unparseable date (expected %d/%m/%Y)",
        },
        {"source": "police", "row": 3, "column": "ref", "reason": "duplicate record id"},
        {"source": "police", "row": 4, "column": "ref", "reason": "duplicate record id"},
        {"source": "school", "row": 2, "column": "term", "reason": "unknown term"},
        {"source": "school", "row": 3, "column": "missed", "reason": "not a number"},
    ]
    # Nothing silently dropped: every row read is either used or quarantined.
    assert ingested.records.height + ingested.quarantine.height == sum(ingested.rows_read.values())


def test_events_take_their_indicator_from_the_rows_codes(extracts):
    mapping, sources = extracts
    events = ingest(load_mapping(mapping), sources).events.filter(pl.col("source") == "police")
    assert events.select("source_record_id", "indicator", "start").sort(
        "source_record_id"
    ).to_dicts() == [
        {"source_record_id": "P1", "indicator": "asb_incident", "start": date(2015, 4, 3)},
        {"source_record_id": "P5", "indicator": "offence", "start": date(2015, 5, 4)},
    ]


def test_a_termly_return_becomes_an_episode_with_sessions(extracts):
    mapping, sources = extracts
    events = ingest(load_mapping(mapping), sources).events.filter(pl.col("source") == "school")
    assert events.select("start", "end", "value", "base").to_dicts() == [
        {"start": date(2014, 9, 1), "end": date(2014, 12, 31), "value": 10.0, "base": 140.0}
    ]


def test_identifiers_are_renamed_and_dates_of_birth_made_iso(extracts):
    mapping, sources = extracts
    records = ingest(load_mapping(mapping), sources).records.filter(pl.col("source") == "police")
    first = records.filter(pl.col("source_record_id") == "P1").to_dicts()[0]
    assert first["forename"] == "Ann" and first["dob"] == "1980-02-01" and first["nino"] is None


def test_a_source_missing_a_mapped_column_stops_the_run(extracts):
    mapping, sources = extracts
    (sources / "school.csv").write_text(
        "ref,first,last,year,term,missed\nS1,A,B,2014/15,autumn,1\n"
    )
    with pytest.raises(InputError, match=r"school\.csv: source 'school' has no column 'possible'"):
        ingest(load_mapping(mapping), sources)


def test_a_mapping_naming_an_unknown_identifier_field_is_an_error(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        MAPPING.replace("forename: first, surname: last, dob", "forname: first, surname: last, dob")
    )
    with pytest.raises(
        InputError, match=r"sources\[0\]\.identifiers\.forname: not an identifier field"
    ):
        load_mapping(path)


def test_an_event_needs_a_date_or_a_term(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace("{indicator: offence, start: when, ", "{indicator: offence, "))
    with pytest.raises(InputError, match=r"sources\[0\]\.events\[1\]: give one of start or term"):
        load_mapping(path)


def test_a_household_column_groups_the_records_a_service_lists_together(tmp_path):
    (tmp_path / "claims.csv").write_text(
        "ref,first,last,claim,role\nC1,Ann,Smith,HB7,claimant\nC2,Kai,Smith,HB7,dependant\n"
        "C3,Bob,Jones,,claimant\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        """
sources:
  - name: benefits
    file: claims.csv
    record_id: ref
    identifiers: {forename: first, surname: last}
    household: claim
""",
        encoding="utf-8",
    )
    ingested = ingest(load_mapping(mapping), tmp_path)
    # Prefixed with the source, so another service's 'HB7' is not the same household.
    assert ingested.households.sort("record_key").rows() == [
        ("benefits:C1", "benefits:HB7"),
        ("benefits:C2", "benefits:HB7"),
    ]


def test_a_household_column_missing_from_the_extract_stops_the_run(tmp_path):
    (tmp_path / "claims.csv").write_text("ref,first\nC1,Ann\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "sources:\n  - {name: benefits, file: claims.csv, record_id: ref,"
        " identifiers: {forename: first}, household: claim}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="no column 'claim'"):
        ingest(load_mapping(mapping), tmp_path)
