"""Standardise UK administrative identifiers before they are compared.

Every department writes names, dates, postcodes and National Insurance numbers its own
way. Comparisons only mean something once both sides are written the same way, so this
module turns the contract columns into comparison-ready columns. It runs in Polars,
before any engine sees the data, so DuckDB and Spark compare exactly the same values.

Nothing here logs or raises with a value in it: only counts leave this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import polars as pl

# The link contract: the columns each side of a linkage carries, each with its own
# standardiser below. An interface of the engine, which also runs on its own without a
# policy; which fields are identifiers is the policy's to say (its field classes), and
# a stage with a policy asks it, then gives the engine these columns.
CONTRACT_COLUMNS = ("record_id", "forename", "surname", "dob", "sex", "postcode", "address", "nino")

# Titles that appear in name fields but identify nobody.
_TITLES = ["MR", "MRS", "MS", "MISS", "MX", "DR", "PROF", "REV", "SIR", "DAME", "MASTER"]

# Sikh names: Singh and Kaur are religious names every Sikh man or woman may carry. As
# a surname they are shared by a large part of a community, and people record them
# inconsistently (as surname, as middle name, or not at all beside a family name). They
# are kept, but flagged, so the surname comparison can treat them as weak evidence.
RELIGIOUS_SURNAMES = frozenset({"SINGH", "KAUR", "KOUR"})

# Muslim naming: an honorific first given name (Mohammed and its spellings) is often
# used in one register and omitted in another. When a person has another given name,
# that other name is the one that identifies them.
_OPTIONAL_FIRST_NAMES = frozenset(
    {"MOHAMMED", "MOHAMMAD", "MOHAMED", "MOHAMAD", "MUHAMMAD", "MUHAMMED", "MUHAMAD", "MOHD", "MD"}
)

_ADDRESS_WORDS = {
    "RD": "ROAD", "ST": "STREET", "AVE": "AVENUE", "AV": "AVENUE", "LN": "LANE",
    "DR": "DRIVE", "CL": "CLOSE", "CT": "COURT", "CRES": "CRESCENT", "CR": "CRESCENT",
    "PL": "PLACE", "GDNS": "GARDENS", "TCE": "TERRACE", "TER": "TERRACE", "GR": "GROVE",
    "GRV": "GROVE", "SQ": "SQUARE", "HSE": "HOUSE", "APT": "FLAT", "APARTMENT": "FLAT",
    "WY": "WAY", "PK": "PARK", "CIR": "CIRCUIT", "CCT": "CIRCUIT", "PDE": "PARADE",
}  # fmt: skip

# National Insurance numbers: two prefix letters, six digits, optional suffix A-D.
# HMRC never issues D, F, I, Q, U, V as either prefix letter, nor O as the second, nor
# the prefixes below; temporary numbers (TN) and placeholders (ZZ) identify nobody.
_NINO_PATTERN = r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]?$"
_NINO_BAD_PREFIXES = ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"]

# Dates systems write when they do not know the date of birth.
_PLACEHOLDER_DOBS = ["1900-01-01", "1901-01-01", "1800-01-01", "1111-11-11", "9999-12-31"]
_EARLIEST_YEAR = 1900


@dataclass
class StandardiseCounts:
    """What standardisation set aside, as counts per field (never values)."""

    rows: int = 0
    unparseable_dob: int = 0
    placeholder_dob: int = 0
    invalid_nino: int = 0
    missing: dict[str, int] = field(default_factory=dict)


@cache
def name_groups() -> pl.DataFrame:
    """The nickname and transliteration table: one row per (group, name)."""
    text = resources.files("evalink.link").joinpath("data/name_groups.csv").read_text()
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    return pl.DataFrame(
        {"group": [r[0] for r in rows], "name": [r[1] for r in rows]}, orient="col"
    ).unique()


def _clean_text(column: pl.Expr) -> pl.Expr:
    """Upper case, accents stripped, punctuation to spaces, apostrophes joined."""
    text = column.cast(pl.String)
    # Unicode decomposition is slow and almost every value is plain ASCII: only values
    # with another character pay for it.
    text = (
        pl.when(text.str.contains(r"[^\x00-\x7F]"))
        .then(text.str.normalize("NFKD").str.replace_all(r"\p{M}", ""))
        .otherwise(text)
    )
    return (
        text.str.to_uppercase()
        .str.replace_all(r"['`’]", "")
        .str.replace_all(r"[^A-Z0-9 ]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _empty_to_null(column: pl.Expr) -> pl.Expr:
    return pl.when(column.str.len_chars() > 0).then(column).otherwise(None)


def _name_tokens(column: pl.Expr) -> pl.Expr:
    """Name words without digits or titles; Mc/Mac and St written one way."""
    cleaned = (
        _clean_text(column)
        .str.replace_all(r"[0-9]", "")
        # Mac Donald, McDonald and MacDonald are one surname.
        .str.replace_all(r"\bMC ?", "MAC")
        .str.replace_all(r"\bMAC ", "MAC")
        .str.replace_all(r"\bST ", "SAINT ")
    )
    return cleaned.str.split(" ").list.eval(
        pl.element().filter((pl.element().str.len_chars() > 0) & ~pl.element().is_in(_TITLES))
    )


def standardise(
    table: pl.DataFrame, *, today: dt.date | None = None
) -> tuple[pl.DataFrame, StandardiseCounts]:
    """Comparison-ready columns for a table with the contract columns (all strings).

    Each field is standardised once per distinct value and joined back: a population
    file repeats its forenames, surnames, dates and postcodes many times over.
    """
    today = today or dt.date.today()
    counts = StandardiseCounts(rows=table.height)
    for column in CONTRACT_COLUMNS[1:]:
        counts.missing[column] = int(
            table.select(
                (pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")).sum()
            ).item()
        )
    frame = _religious_name_swapped_back(
        table.select([pl.col(c).cast(pl.String) for c in CONTRACT_COLUMNS])
    )
    steps = [
        ("forename", _forenames),
        ("surname", _surnames),
        ("dob", lambda values: _dates(values, today)),
        ("sex", _sexes),
        ("postcode", _postcodes),
        ("address", _addresses),
        ("nino", _ninos),
    ]
    for column, step in steps:
        values = frame.select(pl.col(column).alias("_raw")).unique()
        frame = frame.join(
            step(values), left_on=column, right_on="_raw", how="left", nulls_equal=True
        )
    counts.unparseable_dob = int(frame["_unparseable"].sum())
    counts.placeholder_dob = int(frame["_placeholder"].sum())
    counts.invalid_nino = int(frame["_invalid_nino"].sum())
    standard = frame.drop("dob", "sex", "postcode", "nino").rename(
        {"dob_std": "dob", "sex_std": "sex", "postcode_std": "postcode", "nino_std": "nino"}
    )
    return standard.select(STANDARD_COLUMNS), counts


def _religious_name_swapped_back(frame: pl.DataFrame) -> pl.DataFrame:
    """Forename and surname swapped back where the forename field holds only Singh or Kaur.

    Singh and Kaur are never a given name on their own: "Singh, Balvinder" is Balvinder
    Singh written surname first. Left as recorded, the given name would sit in the
    surname field and the religious name nowhere a comparison looks for it.
    """
    is_religious = pl.element().is_in(list(RELIGIOUS_SURNAMES))
    tokens = _name_tokens(pl.col("_raw"))
    religious = tokens.list.eval(pl.element().filter(is_religious)).list.len()
    # Only Singh or Kaur in the forename field; a family or given name in the surname's.
    only_religious = (religious > 0) & (religious == tokens.list.len())
    another_name = tokens.list.len() > religious

    flags = []
    for column, flag in (("forename", only_religious), ("surname", another_name)):
        values = (
            frame.select(pl.col(column).alias("_raw"))
            .unique()
            .with_columns(flag.fill_null(False).alias("_flag"))
        )
        flags.append(
            frame.select(pl.col(column).alias("_raw")).join(
                values, on="_raw", how="left", nulls_equal=True, maintain_order="left"
            )["_flag"]
        )
    swap = (flags[0] & flags[1]).fill_null(False)
    if not swap.any():
        return frame
    return frame.with_columns(
        pl.when(swap).then(pl.col("surname")).otherwise(pl.col("forename")).alias("forename"),
        pl.when(swap).then(pl.col("forename")).otherwise(pl.col("surname")).alias("surname"),
    )


def _forenames(values: pl.DataFrame) -> pl.DataFrame:
    frame = values.with_columns(
        # Singh/Kaur written inside the forename field are the same religious name.
        _name_tokens(pl.col("_raw"))
        .list.eval(pl.element().filter(~pl.element().is_in(list(RELIGIOUS_SURNAMES))))
        .alias("forename_tokens"),
    )
    frame = frame.with_columns(
        # The given name that identifies the person: skip an optional honorific first
        # name when another given name follows it.
        _empty_to_null(
            pl.when(
                (pl.col("forename_tokens").list.len() > 1)
                & pl.col("forename_tokens").list.first().is_in(list(_OPTIONAL_FIRST_NAMES))
            )
            .then(pl.col("forename_tokens").list.get(1, null_on_oob=True))
            .otherwise(pl.col("forename_tokens").list.first())
        ).alias("forename_main"),
        pl.when(pl.col("forename_tokens").list.len() > 0)
        .then(pl.col("forename_tokens"))
        .alias("forename_tokens"),
        # Only the honorific name was recorded (Mohammed, Md): consistent with any
        # given name of a Muslim man, so weak evidence either way.
        (
            (pl.col("forename_tokens").list.len() == 1)
            & pl.col("forename_tokens").list.first().is_in(list(_OPTIONAL_FIRST_NAMES))
        )
        .fill_null(False)
        .alias("forename_is_religious"),
    )
    return _with_name_groups(frame).select(
        "_raw", "forename_main", "forename_tokens", "forename_groups", "forename_is_religious"
    )


def _surnames(values: pl.DataFrame) -> pl.DataFrame:
    frame = values.with_columns(
        # Kour is a spelling of Kaur.
        _name_tokens(pl.col("_raw"))
        .list.eval(pl.element().replace({"KOUR": "KAUR"}))
        .alias("_sn_tokens")
    )
    frame = frame.with_columns(
        pl.col("_sn_tokens")
        .list.eval(pl.element().filter(~pl.element().is_in(list(RELIGIOUS_SURNAMES))))
        .alias("_sn_family"),
    )
    has_family = pl.col("_sn_family").list.len() > 0
    frame = frame.with_columns(
        # Surname: family name words joined, so Smith-Jones, Smith Jones and SmithJones
        # agree exactly; when the only surname is Singh or Kaur it is kept as it is.
        _empty_to_null(
            pl.when(has_family)
            .then(pl.col("_sn_family").list.join(""))
            .otherwise(pl.col("_sn_tokens").list.join(""))
        ).alias("surname_std"),
        pl.when(has_family)
        .then(pl.col("_sn_family"))
        .otherwise(pl.col("_sn_tokens"))
        .alias("surname_tokens"),
        (~has_family & (pl.col("_sn_tokens").list.len() > 0)).alias("surname_is_religious"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("surname_tokens").list.len() > 0)
        .then(pl.col("surname_tokens"))
        .alias("surname_tokens")
    )
    return frame.select("_raw", "surname_std", "surname_tokens", "surname_is_religious")


def _dates(values: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    raw = pl.col("_raw").str.strip_chars()
    frame = values.with_columns(raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("_date"))
    present = raw.is_not_null() & (raw != "")
    placeholder = (
        pl.col("_date").dt.to_string("%Y-%m-%d").is_in(_PLACEHOLDER_DOBS)
        | (pl.col("_date").dt.year() < _EARLIEST_YEAR)
        | (pl.col("_date") > pl.lit(today))
    )
    frame = frame.with_columns(
        (present & pl.col("_date").is_null()).alias("_unparseable"),
        (pl.col("_date").is_not_null() & placeholder).fill_null(False).alias("_placeholder"),
    ).with_columns(
        pl.when(pl.col("_placeholder")).then(None).otherwise(pl.col("_date")).alias("_date")
    )
    day, month = pl.col("_date").dt.day(), pl.col("_date").dt.month()
    return frame.select(
        "_raw",
        "_unparseable",
        "_placeholder",
        pl.col("_date").dt.to_string("%Y-%m-%d").alias("dob_std"),
        # The same date with day and month exchanged, when that is itself a date: the
        # commonest keying error in UK dates (US-format entry).
        pl.when((day <= 12) & (day != month))
        .then(
            pl.col("_date").dt.year().cast(pl.String)
            + "-"
            + day.cast(pl.String).str.zfill(2)
            + "-"
            + month.cast(pl.String).str.zfill(2)
        )
        .alias("dob_swapped"),
        pl.col("_date").dt.year().cast(pl.String).alias("dob_year"),
        # 1 January is what systems write when only the year is known: an exact match
        # on it says much less than an exact match on any other day.
        ((day == 1) & (month == 1)).alias("dob_jan1"),
    )


def _sexes(values: pl.DataFrame) -> pl.DataFrame:
    sex = _clean_text(pl.col("_raw")).str.slice(0, 1)
    return values.with_columns(pl.when(sex.is_in(["M", "F"])).then(sex).alias("sex_std")).select(
        "_raw", pl.col("sex_std")
    )


def _postcodes(values: pl.DataFrame) -> pl.DataFrame:
    postcode = _empty_to_null(_clean_text(pl.col("_raw")).str.replace_all(" ", ""))
    frame = values.with_columns(postcode.alias("postcode_std"))
    length = pl.col("postcode_std").str.len_chars()
    return frame.select(
        "_raw",
        "postcode_std",
        pl.when(length >= 5)
        .then(pl.col("postcode_std").str.slice(0, length - 3))
        .otherwise(pl.col("postcode_std"))
        .alias("postcode_outward"),
        pl.when(length >= 5)
        .then(pl.col("postcode_std").str.slice(0, length - 2))
        .otherwise(pl.col("postcode_std"))
        .alias("postcode_sector"),
    )


def _addresses(values: pl.DataFrame) -> pl.DataFrame:
    # Abbreviations written out in one pass (RD → ROAD, ST → STREET): padding with
    # spaces makes each pattern match whole words only.
    padded = pl.lit(" ") + _clean_text(pl.col("_raw")) + pl.lit(" ")
    address = padded.str.replace_many(
        [f" {short} " for short in _ADDRESS_WORDS],
        [f" {long} " for long in _ADDRESS_WORDS.values()],
    ).str.strip_chars()
    frame = values.with_columns(_empty_to_null(address).alias("address_std"))
    number = r"\b[0-9]+[A-Z]?\b"
    return frame.select(
        "_raw",
        "address_std",
        _empty_to_null(pl.col("address_std").str.extract_all(number).list.join(" ")).alias(
            "address_numbers"
        ),
        # Without the house number: the street, which neighbours share.
        _empty_to_null(
            pl.col("address_std")
            .str.replace_all(number, "")
            .str.replace_all(r"\s+", " ")
            .str.strip_chars()
        ).alias("address_street"),
    )


def _ninos(values: pl.DataFrame) -> pl.DataFrame:
    nino = pl.col("_raw").str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    valid = nino.str.contains(_NINO_PATTERN) & ~nino.str.slice(0, 2).is_in(_NINO_BAD_PREFIXES)
    return values.select(
        "_raw",
        (nino.is_not_null() & (nino != "") & ~valid).fill_null(False).alias("_invalid_nino"),
        # The suffix letter is often dropped or varies between systems; the first eight
        # characters identify the person.
        pl.when(valid).then(nino.str.slice(0, 8)).alias("nino_std"),
    )


def transliteration_key(name: pl.Expr) -> pl.Expr:
    """A name with common spelling choices of romanised Punjabi, Urdu and Arabic folded:
    EE/I, OO/U, W/V, PH/F, doubled letters. Mild on purpose: dropping vowels would also
    merge Hassan and Hussain, a common pair of twins' names."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    return name.str.replace_many(["EE", "OO", "PH", "W"], ["I", "U", "F", "V"]).str.replace_many(
        [c + c for c in letters], letters
    )


def _with_name_groups(frame: pl.DataFrame) -> pl.DataFrame:
    """`forename_groups`: the given name and every group it belongs to (nicknames,
    transliterations), so Bill and William, or Mohamed and Muhammad, intersect."""
    groups = name_groups().group_by("name").agg(pl.col("group").alias("_groups"))
    frame = frame.join(groups, left_on="forename_main", right_on="name", how="left")
    return frame.with_columns(
        pl.when(pl.col("forename_main").is_not_null())
        .then(
            pl.concat_list(
                pl.col("forename_main").cast(pl.String),
                # The name folded for transliteration, so spellings the table does not
                # list still meet (Harjeet / Harjit, Kulvinder / Kulwinder).
                pl.lit("~") + transliteration_key(pl.col("forename_main")),
                pl.col("_groups").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            )
            .list.unique()
            .list.sort()
        )
        .alias("forename_groups")
    )


STANDARD_COLUMNS = [
    "record_id",
    "forename_main",
    "forename_tokens",
    "forename_groups",
    "forename_is_religious",
    "surname_std",
    "surname_tokens",
    "surname_is_religious",
    "dob",
    "dob_swapped",
    "dob_year",
    "dob_jan1",
    "sex",
    "postcode",
    "postcode_outward",
    "postcode_sector",
    "address_std",
    "address_numbers",
    "address_street",
    "nino",
]
