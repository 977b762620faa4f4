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


# Bad files: each stops the run with one line naming the file (and the place in it), or
# its rows are quarantined with a reason. Never a value from the file in the message.

CLEAN_POLICE = """ref,first,last,born,kind,when
P1,Ann,Quillfeather,01/02/1980,asb,03/04/2015
P2,Bob,Marrowby,05/06/1979,crime,06/07/2015
"""


def _police_ids(ingested) -> list[str]:
    records = ingested.records.filter(pl.col("source") == "police")
    return sorted(records["source_record_id"])


def test_a_header_repeated_inside_the_file_is_quarantined_and_the_rest_used(extracts):
    mapping, sources = extracts
    header = CLEAN_POLICE.splitlines(keepends=True)[0]
    # Three exports joined into one file: the second and third headers are rows. A row
    # holding some of the header's words (row 5: its date is a date) is a record, judged
    # as any other: only a row whose every mapped column holds its own name is a header.
    (sources / "police.csv").write_text(
        CLEAN_POLICE
        + header
        + "P6,Cy,Tindlewood,07/08/1990,crime,01/01/2015\n"
        + "ref,first,last,born,kind,02/01/2015\n"
        + header,
        encoding="utf-8",
    )
    ingested = ingest(load_mapping(mapping), sources)
    assert ingested.quarantine.filter(pl.col("source") == "police").sort("row").rows() == [
        ("police", 3, "ref", "header row repeated inside the file"),
        ("police", 5, "kind", "unknown code"),
        ("police", 6, "ref", "header row repeated inside the file"),
    ]
    assert _police_ids(ingested) == ["P1", "P2", "P6"]


def test_a_repeated_header_is_recognised_behind_the_second_exports_byte_order_mark(extracts):
    mapping, sources = extracts
    # `copy /b a.csv+b.csv` of two Excel 'CSV UTF-8' exports: each part starts with a mark.
    part = b"\xef\xbb\xbf" + CLEAN_POLICE.encode()
    (sources / "police.csv").write_bytes(
        part + part.replace(b"P1,", b"P8,").replace(b"P2,", b"P9,")
    )
    ingested = ingest(load_mapping(mapping), sources)
    police = ingested.quarantine.filter(pl.col("source") == "police")
    assert police["reason"].to_list() == ["header row repeated inside the file"]
    assert _police_ids(ingested) == ["P1", "P2", "P8", "P9"]


def test_a_header_only_extract_stops_the_run_as_a_likely_failed_export(extracts):
    mapping, sources = extracts
    (sources / "school.csv").write_text("ref,first,last,year,term,missed,possible\n")
    with pytest.raises(
        InputError,
        match=r"school\.csv: source 'school' has a header but no rows; .*failed export.*"
        r"set `allow_empty: true` for source 'school' in the mapping",
    ):
        ingest(load_mapping(mapping), sources)


def _allowing_empty_school(mapping: Path) -> Path:
    text = mapping.read_text().replace(
        "    file: school.csv\n", "    file: school.csv\n    allow_empty: true\n"
    )
    mapping.write_text(text)
    return mapping


def test_allow_empty_reads_a_service_with_no_records_as_zero_rows(extracts):
    mapping, sources = extracts
    (sources / "school.csv").write_text("ref,first,last,year,term,missed,possible\n")
    ingested = ingest(load_mapping(_allowing_empty_school(mapping)), sources)
    assert ingested.rows_read["school"] == 0
    assert ingested.records.filter(pl.col("source") == "school").height == 0
    assert ingested.events.filter(pl.col("source") == "school").height == 0
    assert ingested.rows_read["police"] == 5 and ingested.records.height == 2


def test_an_allowed_empty_extract_still_needs_the_columns_the_mapping_names(extracts):
    mapping, sources = extracts
    (sources / "school.csv").write_text("ref,first,last,year,term,missed\n")
    with pytest.raises(InputError, match=r"school\.csv: source 'school' has no column 'possible'"):
        ingest(load_mapping(_allowing_empty_school(mapping)), sources)


def test_a_column_named_twice_in_the_header_stops_the_run_naming_it_and_its_places(extracts):
    mapping, sources = extracts
    (sources / "police.csv").write_text(CLEAN_POLICE.replace(",when\n", ",last\n", 1))
    with pytest.raises(
        InputError,
        match=r"police\.csv: the header names column 'last' twice \(columns 3 and 6\); "
        "give each column its own name$",
    ):
        ingest(load_mapping(mapping), sources)


def test_a_column_named_twice_in_a_parquet_schema_stops_the_run(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"ref": ["C1"], "first": ["Ann"], "x": ["Quillfeather"]})
    pq.write_table(table.rename_columns(["ref", "first", "first"]), tmp_path / "claims.parquet")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "sources:\n  - {name: benefits, file: claims.parquet, record_id: ref,"
        " identifiers: {forename: first}}\n"
    )
    with pytest.raises(
        InputError,
        match=r"claims\.parquet: the schema names column 'first' twice \(columns 2 and 3\)",
    ):
        ingest(load_mapping(mapping), tmp_path)


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column_name(extracts):
    mapping, sources = extracts
    # Excel's 'CSV UTF-8' starts the file with a byte-order mark. The record id column
    # comes first, so it must still be read as text: '007' stays '007'.
    text = CLEAN_POLICE.replace("P1,", "007,").replace("P2,", "012,")
    (sources / "police.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert _police_ids(ingest(load_mapping(mapping), sources)) == ["007", "012"]


WINDOWS_POLICE = "ref,first,last,born,kind,when\nP1,Zoë,Ó Súilleabháin,01/02/1980,asb,03/04/2015\n"


def test_a_windows_export_is_read_with_encoding_cp1252(extracts):
    mapping, sources = extracts
    (sources / "police.csv").write_bytes(WINDOWS_POLICE.encode("cp1252"))
    text = mapping.read_text().replace(
        "    file: police.csv\n", "    file: police.csv\n    encoding: cp1252\n"
    )
    mapping.write_text(text)
    records = ingest(load_mapping(mapping), sources).records.filter(pl.col("source") == "police")
    assert records.select("forename", "surname").rows() == [("Zoë", "Ó Súilleabháin")]


def test_column_names_in_a_windows_export_are_decoded_too(tmp_path):
    (tmp_path / "care.csv").write_bytes("réf,prénom\nC1,Zoë\n".encode("cp1252"))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "sources:\n  - {name: care, file: care.csv, record_id: réf,"
        " identifiers: {forename: prénom}, encoding: cp1252}\n",
        encoding="utf-8",
    )
    records = ingest(load_mapping(mapping), tmp_path).records
    assert records.select("source_record_id", "forename").rows() == [("C1", "Zoë")]


def test_a_byte_not_valid_utf8_names_the_line_and_the_fix_but_not_the_line(extracts):
    mapping, sources = extracts
    # A Windows-1252 'ë' on the third physical line, read as UTF-8 (the default).
    (sources / "police.csv").write_bytes(
        CLEAN_POLICE.encode() + "P3,Zoë,Quillfeather,01/02/2009,asb,03/04/2015\n".encode("cp1252")
    )
    with pytest.raises(InputError) as refused:
        ingest(load_mapping(mapping), sources)
    assert str(refused.value) == (
        f"{sources / 'police.csv'}: line 4: byte 0xeb is not valid utf-8; set `encoding: cp1252`"
        " for source 'police' in the mapping if the file came from Excel on Windows"
    )


def test_a_byte_not_valid_in_the_mapped_encoding_names_the_line(extracts):
    mapping, sources = extracts
    # 0x81 means nothing in Windows-1252; the file is in some other encoding.
    (sources / "police.csv").write_bytes(
        CLEAN_POLICE.encode() + b"P3,Zo\x81,Q,01/02/2009,asb,03/04/2015\n"
    )
    mapping.write_text(
        mapping.read_text().replace(
            "    file: police.csv\n", "    file: police.csv\n    encoding: cp1252\n"
        )
    )
    with pytest.raises(
        InputError,
        match=r"police\.csv: line 4: byte 0x81 is not valid cp1252; set `encoding:` for source "
        r"'police' in the mapping to the encoding the file was saved in",
    ):
        ingest(load_mapping(mapping), sources)


def test_a_utf8_file_with_a_byte_order_mark_is_not_read_as_cp1252(extracts):
    mapping, sources = extracts
    (sources / "police.csv").write_bytes(b"\xef\xbb\xbf" + CLEAN_POLICE.encode())
    mapping.write_text(
        mapping.read_text().replace(
            "    file: police.csv\n", "    file: police.csv\n    encoding: cp1252\n"
        )
    )
    with pytest.raises(
        InputError,
        match=r"police\.csv: starts with a UTF-8 byte-order mark .*remove `encoding: cp1252` for "
        "source 'police' in the mapping",
    ):
        ingest(load_mapping(mapping), sources)


def test_an_encoding_python_does_not_know_names_the_mapping_field(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        MAPPING.replace(
            "    file: school.csv\n", "    file: school.csv\n    encoding: windows-1252x\n"
        )
    )
    with pytest.raises(
        InputError,
        match=r"sources\[1\]\.encoding: 'windows-1252x' is not a text encoding Python knows",
    ):
        load_mapping(path)


def test_a_council_whose_every_source_is_empty_has_nothing_to_identify(extracts):
    mapping, sources = extracts
    (sources / "police.csv").write_text(CLEAN_POLICE.split("\n", 1)[0] + "\n")
    (sources / "school.csv").write_text("ref,first,last,year,term,missed,possible\n")
    text = _allowing_empty_school(mapping).read_text()
    mapping.write_text(
        text.replace("    file: police.csv\n", "    file: police.csv\n    allow_empty: true\n")
    )
    with pytest.raises(InputError, match=r"^no records to identify families from: all 2 sources"):
        ingest(load_mapping(mapping), sources)
