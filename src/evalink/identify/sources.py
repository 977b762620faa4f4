"""Reading a council's local extracts through a mapping file.

Each service keeps its own records with its own ids and its own copy of each person's
identifiers. The mapping file says, per source, which columns are identifiers, which
rows are events or indicators, and their date columns — so a council points evalink at
its own extracts without code. Rows that cannot be used go to a quarantine with the
reason; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from evalink.errors import InputError
from evalink.files import read_table, text_encoding
from evalink.identify.rules import EVENT_SCHEMA
from evalink.records import TERM_DATES, academic_year, term_dates
from evalink.yamlfile import load_model

if TYPE_CHECKING:
    from evalink.policy import Policy

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

# The policy dataset a council's identifiers are shared as: the fields it classes as
# direct or quasi-identifiers are the ones identify reads from its sources.
IDENTIFIERS_DATASET = "identifiers"


def identifier_fields(policy: Policy | None = None) -> tuple[str, ...]:
    """The fields a source's mapping may name as identifiers, and that every record
    carries (empty where its source has none): those the policy's identifiers dataset
    classes as direct or quasi-identifiers.

    Without a policy (identify run on its own, like the linkage engine), the fields the
    link contract compares: resolving persons is a linkage, and that is its interface.
    """
    if policy is not None:
        return tuple(policy.identifying_fields(IDENTIFIERS_DATASET))
    from evalink.link import CONTRACT_COLUMNS  # lazy: Splink is heavy to import

    return tuple(column for column in CONTRACT_COLUMNS if column != "record_id")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermSpec(_Strict):
    """Where a school extract gives a term ('autumn') in an academic year ('2014/15')
    rather than dates."""

    academic_year: str
    term: str


class EventSpec(_Strict):
    """Rows of a source that are events of one indicator."""

    indicator: Id
    start: str | None = None  # column holding the event's date, or an episode's start
    end: str | None = None  # an episode's end column; missing values mean still open
    term: TermSpec | None = None  # instead of start/end, for termly school returns
    value: str | None = None  # numeric column, e.g. sessions missed
    base: str | None = None  # numeric column the value is a share of, e.g. sessions possible
    where: dict[str, list[str]] = {}  # keep rows whose column holds one of these values


class ProgrammeSpec(_Strict):
    """The programme's own record of families attached, with dates and costs."""

    attachment_date: str
    case_id: str  # the programme's id for the family; its members share it
    keyworker_cost: str | None = None
    help_received: str | None = None
    case_closed: str | None = None


class SourceSpec(_Strict):
    name: Id
    file: str  # relative to the sources directory
    record_id: str
    identifiers: dict[str, str] = Field(min_length=1)  # identifier field → column
    date_format: str = "%Y-%m-%d"
    codes: dict[str, list[str]] = {}  # coded columns and their known values
    events: list[EventSpec] = []
    programme: ProgrammeSpec | None = None
    # A column whose value the service gives every member of one household as it records
    # them: a benefit claim listing partner and children, a tenancy reference. People
    # sharing one are one household whatever addresses their other records give.
    household: str | None = None
    # The CSV's text encoding (Parquet is always UTF-8): cp1252 for most exports from
    # Excel on Windows. A UTF-8 byte-order mark is dropped whatever this says.
    encoding: str = "utf-8"
    # A service extract with no rows is usually a failed export, so it stops the run
    # unless the mapping says this service truly has no records.
    allow_empty: bool = False

    def columns(self) -> set[str]:
        """Every column of the extract the mapping names."""
        named = {self.record_id, *self.identifiers.values(), *self.codes}
        if self.household is not None:
            named.add(self.household)
        for spec in self.events:
            named.update(c for c in (spec.start, spec.end, spec.value, spec.base) if c)
            if spec.term is not None:
                named.update((spec.term.academic_year, spec.term.term))
            named.update(spec.where)
        if self.programme is not None:
            p = self.programme
            named.update(
                c
                for c in (
                    p.attachment_date,
                    p.case_id,
                    p.keyworker_cost,
                    p.help_received,
                    p.case_closed,
                )
                if c
            )
        return named


class Mapping(_Strict):
    sources: list[SourceSpec] = Field(min_length=1)

    def indicators(self) -> set[str]:
        return {event.indicator for source in self.sources for event in source.events}


def load_mapping(path: Path | str, fields: Sequence[str] | None = None) -> Mapping:
    """The mapping file, checked; its sources may name only these identifier `fields`
    (`identifier_fields()` when not given)."""
    path = Path(path)
    fields = identifier_fields() if fields is None else fields
    mapping = load_model(path, Mapping, "mapping")
    for i, source in enumerate(mapping.sources):
        unknown = sorted(set(source.identifiers) - set(fields))
        if unknown:
            raise InputError(
                f"{path}: sources[{i}].identifiers.{unknown[0]}: not an identifier field "
                f"(use {', '.join(fields)})"
            )
        for j, spec in enumerate(source.events):
            if (spec.start is None) == (spec.term is None):
                raise InputError(f"{path}: sources[{i}].events[{j}]: give one of start or term")
        try:
            text_encoding(source.encoding)
        except LookupError:
            raise InputError(
                f"{path}: sources[{i}].encoding: '{source.encoding}' is not a text encoding "
                "Python knows (e.g. utf-8, cp1252, latin-1)"
            ) from None
    names = [s.name for s in mapping.sources]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise InputError(f"{path}: sources[{i}].name: '{name}' is defined twice")
    return mapping


@dataclass
class Ingested:
    """What the sources yield: one identifiers row per record, events, the programme."""

    records: pl.DataFrame  # record_key, source, source_record_id, identifier fields
    events: pl.DataFrame  # record_key + EVENT_SCHEMA without person_key
    programme: pl.DataFrame  # record_key, case_id, attachment_date, keyworker_cost, ...
    households: pl.DataFrame  # record_key, group: records a service lists as one household
    quarantine: pl.DataFrame  # source, row, column, reason
    rows_read: dict[str, int]


QUARANTINE_SCHEMA = {"source": pl.Utf8, "row": pl.Int64, "column": pl.Utf8, "reason": pl.Utf8}


def ingest(mapping: Mapping, sources_dir: Path, fields: Sequence[str] | None = None) -> Ingested:
    """Every source read through the mapping; each record carries the identifier
    `fields` (`identifier_fields()` when not given), empty where its source has none."""
    fields = identifier_fields() if fields is None else fields
    records, events, programme, households, quarantine = [], [], [], [], []
    rows_read = {}
    for source in mapping.sources:
        frame = _read_source(source, sources_dir)
        rows_read[source.name] = frame.height
        frame, bad = _quarantine(source, frame)
        quarantine.append(bad)
        frame = frame.with_columns(
            (pl.lit(f"{source.name}:") + pl.col("_source_record_id")).alias("record_key")
        )
        records.append(_identifiers(source, frame, fields))
        for spec in source.events:
            events.append(_events(source, spec, frame))
        if source.programme is not None:
            programme.append(_programme(source, frame))
        if source.household is not None:
            households.append(_households(source, frame))
    records_ = pl.concat(records, how="vertical")
    if records_.height == 0:
        # Allowing a service to be empty is not allowing the whole council to be.
        raise InputError(
            f"no records to identify families from: all {len(mapping.sources)} sources are "
            "empty or have every row quarantined"
        )
    return Ingested(
        records=records_,
        events=pl.concat(events, how="vertical") if events else _empty_events(),
        programme=pl.concat(programme, how="vertical") if programme else _empty_programme(),
        households=pl.concat(households, how="vertical")
        if households
        else pl.DataFrame(schema={"record_key": pl.Utf8, "group": pl.Utf8}),
        quarantine=pl.concat(quarantine, how="vertical"),
        rows_read=rows_read,
    )


def _read_source(source: SourceSpec, sources_dir: Path) -> pl.DataFrame:
    path = sources_dir / source.file
    named = source.columns()
    table = read_table(
        path,
        all_strings=True,
        encoding=source.encoding,
        encoding_scope=f"for source '{source.name}' in the mapping",
        known_columns=named,
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    missing = sorted(named - set(frame.columns))
    if missing:
        raise InputError(
            f"{path}: source '{source.name}' has no column '{missing[0]}' that the mapping names"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    if frame.height == 0 and not source.allow_empty:
        raise InputError(
            f"{path}: source '{source.name}' has a header but no rows; a service extract "
            "with no rows is usually a failed export: check it, or if the service truly has "
            f"no records set `allow_empty: true` for source '{source.name}' in the mapping"
        )
    # Everything is read as text so a council's own formats are parsed by the mapping,
    # not guessed by a reader; row numbers are 1-based data rows for the quarantine.
    return (
        frame.with_columns(pl.col(c).cast(pl.Utf8) for c in frame.columns)
        .with_row_index("_row", offset=1)
        .with_columns(
            pl.col("_row").cast(pl.Int64), pl.col(source.record_id).alias("_source_record_id")
        )
    )


def _date(source: SourceSpec, column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, source.date_format, strict=False)


def _quarantine(source: SourceSpec, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off rows that cannot be used, each with the reason."""
    # Two exports joined into one file carry the second one's header as a row. It is a
    # header when every column the mapping names holds its own name: a real record
    # cannot, since its record id, identifiers and dates would all have to be the words
    # of the header. Unmapped columns are not compared, so a free-text column renamed
    # between the two exports does not hide the header; nor does the byte-order mark
    # the second export began with (Excel's 'CSV UTF-8'), left on its first name.
    repeated_header = pl.all_horizontal(
        pl.col(column).is_in([column, "\ufeff" + column]) for column in sorted(source.columns())
    ).fill_null(False)
    # Checked first: a row is quarantined once, for its first reason, so a repeated
    # header is not also counted as an unparseable date; nor do two headers make their
    # record id column's name a duplicated id.
    record_id = pl.when(repeated_header).then(None).otherwise(pl.col(source.record_id))
    checks: list[tuple[str, pl.Expr, str]] = [
        (source.record_id, repeated_header, "header row repeated inside the file"),
        (source.record_id, pl.col(source.record_id).is_null(), "missing record id"),
        (
            source.record_id,
            record_id.is_not_null() & record_id.is_duplicated(),
            "duplicate record id",
        ),
    ]
    date_columns = {spec.start for spec in source.events if spec.start} | {
        spec.end for spec in source.events if spec.end
    }
    if source.programme is not None:
        date_columns.add(source.programme.attachment_date)
    for column in sorted(date_columns):
        checks.append(
            (
                column,
                pl.col(column).is_not_null() & _date(source, column).is_null(),
                f"unparseable date (expected {source.date_format})",
            )
        )
    for spec in source.events:
        if spec.start:
            checks.append((spec.start, pl.col(spec.start).is_null(), "missing event date"))
        if spec.term is not None:
            year, term = spec.term.academic_year, spec.term.term
            checks.append(
                (year, academic_year(pl.col(year)).is_null(), "unparseable academic year")
            )
            checks.append(
                (
                    term,
                    ~pl.col(term).str.to_lowercase().is_in(list(TERM_DATES)).fill_null(False),
                    "unknown term",
                )
            )
        for column in (spec.value, spec.base):
            if column:
                checks.append(
                    (
                        column,
                        pl.col(column).is_not_null()
                        & pl.col(column).cast(pl.Float64, strict=False).is_null(),
                        "not a number",
                    )
                )
    for column, known in source.codes.items():
        checks.append(
            (column, pl.col(column).is_not_null() & ~pl.col(column).is_in(known), "unknown code")
        )
    flagged = [
        frame.filter(condition).select(
            pl.lit(source.name).alias("source"),
            pl.col("_row").alias("row"),
            pl.lit(column).alias("column"),
            pl.lit(reason).alias("reason"),
        )
        for column, condition, reason in checks
    ]
    bad = pl.concat(flagged, how="vertical").cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
    bad = bad.unique(subset=["row"], keep="first", maintain_order=True)
    return frame.join(bad.select(pl.col("row").alias("_row")), on="_row", how="anti"), bad


def _identifiers(source: SourceSpec, frame: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    columns = [
        pl.col(source.identifiers[name]).alias(name)
        if name in source.identifiers
        else pl.lit(None, dtype=pl.Utf8).alias(name)
        for name in fields
    ]
    records = frame.select(
        "record_key",
        pl.lit(source.name).alias("source"),
        pl.col("_source_record_id").alias("source_record_id"),
        *columns,
    )
    if source.date_format != "%Y-%m-%d" and "dob" in source.identifiers:
        records = records.with_columns(_date(source, "dob").dt.strftime("%Y-%m-%d").alias("dob"))
    return records


def _events(source: SourceSpec, spec: EventSpec, frame: pl.DataFrame) -> pl.DataFrame:
    rows = frame
    for column, values in spec.where.items():
        rows = rows.filter(pl.col(column).is_in(values))
    if spec.term is not None:
        start, end = term_dates(pl.col(spec.term.academic_year), pl.col(spec.term.term))
    else:
        start = _date(source, spec.start)
        end = _date(source, spec.end) if spec.end else start
    return rows.select(
        "record_key",
        pl.lit(spec.indicator).alias("indicator"),
        start.alias("start"),
        end.alias("end"),
        (pl.col(spec.value).cast(pl.Float64) if spec.value else pl.lit(None, pl.Float64)).alias(
            "value"
        ),
        (pl.col(spec.base).cast(pl.Float64) if spec.base else pl.lit(None, pl.Float64)).alias(
            "base"
        ),
        pl.lit(source.name).alias("source"),
        pl.col("_source_record_id").alias("source_record_id"),
    )


def _programme(source: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    p = source.programme
    assert p is not None

    def optional(column: str | None, dtype: pl.DataType) -> pl.Expr:
        return pl.col(column).cast(dtype, strict=False) if column else pl.lit(None, dtype)

    return frame.select(
        "record_key",
        pl.col(p.case_id).alias("case_id"),
        _date(source, p.attachment_date).alias("attachment_date"),
        optional(p.keyworker_cost, pl.Float64()).alias("keyworker_cost"),
        optional(p.help_received, pl.Utf8()).alias("help_received"),
        (_date(source, p.case_closed) if p.case_closed else pl.lit(None, pl.Date)).alias(
            "case_closed"
        ),
    )


def _households(source: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    assert source.household is not None
    # Prefixed with the source: two services may number their claims and tenancies alike.
    return frame.filter(pl.col(source.household).is_not_null()).select(
        "record_key", (pl.lit(f"{source.name}:") + pl.col(source.household)).alias("group")
    )


def _empty_events() -> pl.DataFrame:
    schema = {"record_key": pl.Utf8} | {k: v for k, v in EVENT_SCHEMA.items() if k != "person_key"}
    return pl.DataFrame(schema=schema)


def _empty_programme() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "record_key": pl.Utf8,
            "case_id": pl.Utf8,
            "attachment_date": pl.Date,
            "keyworker_cost": pl.Float64,
            "help_received": pl.Utf8,
            "case_closed": pl.Date,
        }
    )
