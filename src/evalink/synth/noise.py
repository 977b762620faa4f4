"""Identifier noise: each service's own copy of a person's identifiers.

A `NoiseProfile` holds the rates for one source (documented in docs/synthetic-data.md).
`noisy_identifiers` turns true identities into the identifiers a service holds, applying
every kind of variation the departments really see: typos, nicknames, transliterations,
the South Asian naming choices (Mohammed Imran vs Imran, Singh vs Sandhu vs Singh
Sandhu), marriage surname changes, double-barrelled names recorded in part, swapped
names, old addresses, DOB day/month swaps and off-by-one errors, placeholder dates,
missing and mistyped NINOs, and case and punctuation conventions.

Name-level choices work on integer codes (NumPy); character-level noise works on the
strings with Polars expressions. Nothing loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from evalink.synth.calendar import DAYS_PER_YEAR, from_ymd, ymd
from evalink.synth.households import People
from evalink.synth.identities import NINO_MIN_AGE, Identities
from evalink.synth.names import GROUP_CODE, lookup_alternative, tables
from evalink.synth.places import Addresses

IDENTIFIER_COLUMNS = ("record_id", "forename", "surname", "dob", "sex", "postcode", "address", "nino")
# South Asian names are swapped (given name taken for family name) this many times as
# often as others: the order conventions differ and staff are less sure which is which.
SOUTH_ASIAN_SWAP_FACTOR = 4.0
PLACEHOLDER_DOB = "1900-01-01"
_PLACEHOLDER_DAY = int(np.datetime64(PLACEHOLDER_DOB, "D").astype(np.int64))


@dataclass(frozen=True)
class NoiseProfile:
    """Per-record probabilities of each kind of variation in one source's identifiers."""

    forename_typo: float = 0.02
    surname_typo: float = 0.02
    nickname: float = 0.05  # forename recorded as a known nickname, if it has one
    transliteration: float = 0.15  # another spelling, if the name has variants
    called_name: float = 0.40  # Mohammed Imran recorded by the called name, Imran
    full_forename: float = 0.05  # forename and middle name together in the forename field
    alt_surname: float = 0.15  # the other surname: maiden, husband's, Singh/Kaur or got
    sikh_both: float = 0.15  # Singh and the got together: "Singh Sandhu"
    double_surname: float = 0.30  # double-barrelled surname recorded otherwise than hyphenated
    name_swap: float = 0.01  # forename and surname swapped
    moved_address: float = 0.30  # previous address held, for households that moved
    address_format: float = 0.20  # abbreviations (Rd, St), town dropped
    postcode_missing: float = 0.02
    postcode_typo: float = 0.02  # one character wrong, or the space dropped
    dob_swap: float = 0.01  # day and month swapped (when the day is 12 or less)
    dob_off_by_one: float = 0.01  # a day or a year out
    dob_placeholder: float = 0.005  # 1900-01-01 or 1 January of the birth year
    dob_missing: float = 0.01
    sex_missing: float = 0.01
    nino_recorded: float = 0.50  # share of people with a NINO whose NINO the source holds
    nino_typo: float = 0.01
    nino_format: float = 0.20  # lower case, spaces ("AB 12 34 56 C") or suffix dropped
    upper_case: float = 0.0  # share of records typed in capitals
    lower_case: float = 0.0
    strip_punctuation: float = 0.10  # O'Brien → OBrien, Smith-Jones → Smith Jones
    strip_diacritics: float = 0.50  # Łukasz → Lukasz

    def scaled(self, factor: float, **overrides: float) -> NoiseProfile:
        """A copy with every error rate multiplied by `factor` (conventions unchanged)."""
        errors = ["forename_typo", "surname_typo", "nickname", "name_swap", "dob_swap", "dob_off_by_one", "dob_placeholder", "dob_missing", "sex_missing", "nino_typo", "postcode_missing", "postcode_typo"]
        values = {k: min(1.0, getattr(self, k) * factor) for k in errors}
        values.update(overrides)
        return NoiseProfile(**{**self.__dict__, **values})


_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
_DIACRITIC_FROM = list("ŁłÓóĄąĘęŚśŻżŹźĆćŃńÉéÈèÖöÜü")
_DIACRITIC_TO = list("LlOoAaEeSsZzZzCcNnEeEeOoUu")
_ABBREVIATIONS = (
    (" Road", " Rd"), (" Street", " St"), (" Avenue", " Ave"), (" Close", " Cl"),
    (" Lane", " Ln"), (" Drive", " Dr"), (" Crescent", " Cres"), (" Gardens", " Gdns"),
)  # fmt: skip


def _typo(df: pl.DataFrame, col: str, mask: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """One keyboard-style edit (substitute, delete, insert, transpose) where `mask`.

    Only the masked rows are edited (a few per cent), then scattered back.
    """
    n = len(mask)
    pos_u = rng.random(n)
    op_all = rng.integers(0, 4, size=n)
    ch_all = _LETTERS[rng.integers(0, 26, size=n)]
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return df
    sub = df[col].gather(pl.Series(idx))
    length = sub.str.len_chars().cast(pl.Int64).fill_null(0).to_numpy()
    keep = length >= 3
    idx, sub, length = idx[keep], sub.filter(pl.Series(keep)), length[keep]
    if len(idx) == 0:
        return df
    # 1 <= pos <= len-1: never touch the first letter, and keep every slice length >= 0.
    pos = np.clip(np.floor(pos_u[idx] * (length - 1)).astype(np.int64) + 1, 1, length - 1)
    tmp = pl.DataFrame({"s": sub, "_pos": pos, "_op": op_all[idx], "_ch": ch_all[idx]})
    s, p, c = pl.col("s"), pl.col("_pos"), pl.col("_ch")
    head = s.str.slice(0, p)
    edited = (
        pl.when(pl.col("_op") == 0).then(head + c + s.str.slice(p + 1))
        .when(pl.col("_op") == 1).then(head + s.str.slice(p + 1))
        .when(pl.col("_op") == 2).then(head + c + s.str.slice(p))
        .otherwise(s.str.slice(0, p - 1) + s.str.slice(p, 1) + s.str.slice(p - 1, 1) + s.str.slice(p + 1))
    )  # fmt: skip
    new = tmp.select(edited.alias(col))[col]
    return df.with_columns(df[col].scatter(idx, new))


def _names(codes: np.ndarray) -> pl.Series:
    vocab = pl.Series(tables().vocab, dtype=pl.String)
    idx = pl.Series(np.where(codes >= 0, codes, 0).astype(np.uint32))
    return vocab.gather(idx).set(pl.Series(codes < 0), None)


def noisy_identifiers(
    rng: np.random.Generator,
    person: np.ndarray,
    people: People,
    ids: Identities,
    addresses: Addresses,
    profile: NoiseProfile,
    recorded_on: np.ndarray | int,
) -> pl.DataFrame:
    """One row of identifiers per entry of `person`, as a source with `profile` holds them.

    `recorded_on` (days) is when the record was made: a NINO is only known for people
    who were 16 or over by then.
    """
    t = tables()
    n = len(person)
    r = lambda: rng.random(n)  # noqa: E731 - a fresh uniform draw per decision

    # --- names as codes -------------------------------------------------------------
    fn = ids.forename[person].copy()
    alt_fn = ids.alt_forename[person]
    use = (alt_fn >= 0) & (r() < profile.called_name)
    fn[use] = alt_fn[use]
    nick = lookup_alternative(rng, fn, t.nickname_from, t.nickname_to)
    use = (nick >= 0) & (r() < profile.nickname)
    fn[use] = nick[use]
    var = lookup_alternative(rng, fn, t.variant_from, t.variant_to)
    use = (var >= 0) & (r() < profile.transliteration)
    fn[use] = var[use]
    middle = ids.middle[person]
    religious = ids.religious[person]
    full = (middle >= 0) & (religious < 0) & (r() < profile.full_forename)

    sn = ids.surname[person].copy()
    alt_sn = ids.alt_surname[person]
    use = (alt_sn >= 0) & (r() < profile.alt_surname)
    sn[use] = alt_sn[use]
    var = lookup_alternative(rng, sn, t.variant_from, t.variant_to)
    use = (var >= 0) & (r() < profile.transliteration)
    sn[use] = var[use]
    both = (religious >= 0) & (sn != religious) & (r() < profile.sikh_both)
    sn2 = np.where(sn == ids.surname[person], ids.surname2[person], -1)
    double_style = np.where(sn2 >= 0, np.where(r() < profile.double_surname, rng.integers(1, 5, size=n), 0), -1)

    group = ids.group[person]
    south_asian = (group == GROUP_CODE["sikh"]) | (group == GROUP_CODE["muslim"])
    p_swap = profile.name_swap * np.where(south_asian, SOUTH_ASIAN_SWAP_FACTOR, 1.0)
    swap = r() < p_swap

    hh = people.household[person]
    moved = addresses.moved[hh] & (r() < profile.moved_address)
    hh_s = pl.Series(hh)
    address = addresses.series("address").gather(hh_s).zip_with(
        pl.Series(~moved), addresses.series("previous_address").gather(hh_s)
    )
    postcode = addresses.series("postcode").gather(hh_s).zip_with(
        pl.Series(~moved), addresses.series("previous_postcode").gather(hh_s)
    )

    df = pl.DataFrame(
        {
            "forename": _names(fn),
            "middle": _names(middle),
            "surname": _names(sn),
            "surname2": _names(sn2),
            "religious": _names(religious),
            "address": address,
            "postcode": postcode,
        }
    )
    df = df.with_columns(
        pl.when(pl.Series(full)).then(pl.col("forename") + " " + pl.col("middle")).otherwise(pl.col("forename")).alias("forename"),
        pl.when(pl.Series(both)).then(pl.col("religious") + " " + pl.col("surname")).otherwise(pl.col("surname")).alias("surname"),
    )
    ds = pl.Series(double_style)
    df = df.with_columns(
        pl.when(pl.lit(ds) == 0).then(pl.col("surname") + "-" + pl.col("surname2"))
        .when(pl.lit(ds) == 1).then(pl.col("surname") + " " + pl.col("surname2"))
        .when(pl.lit(ds) == 2).then(pl.col("surname"))
        .when(pl.lit(ds) == 3).then(pl.col("surname2"))
        .when(pl.lit(ds) == 4).then(pl.col("surname") + pl.col("surname2"))
        .otherwise(pl.col("surname")).alias("surname")
    )  # fmt: skip
    df = _typo(df, "forename", r() < profile.forename_typo, rng)
    df = _typo(df, "surname", r() < profile.surname_typo, rng)
    sw = pl.Series(swap)
    df = df.with_columns(
        pl.when(sw).then(pl.col("surname")).otherwise(pl.col("forename")).alias("forename"),
        pl.when(sw).then(pl.col("forename")).otherwise(pl.col("surname")).alias("surname"),
    )

    # --- conventions: punctuation, diacritics, case ----------------------------------
    strip = pl.Series(r() < profile.strip_punctuation)
    diac = pl.Series(r() < profile.strip_diacritics)
    case = rng.random(n)
    upper = pl.Series(case < profile.upper_case)
    lower = pl.Series((case >= profile.upper_case) & (case < profile.upper_case + profile.lower_case))
    # One pass per convention: nesting them would make Polars evaluate each name
    # several times over.
    cols = ("forename", "surname")
    df = df.with_columns(
        pl.when(strip).then(pl.col(c).str.replace_all("'", "").str.replace_all("-", " ")).otherwise(pl.col(c)).alias(c)
        for c in cols
    )
    df = df.with_columns(
        pl.when(diac).then(pl.col(c).str.replace_many(_DIACRITIC_FROM, _DIACRITIC_TO)).otherwise(pl.col(c)).alias(c)
        for c in cols
    )
    df = df.with_columns(
        pl.when(upper).then(pl.col(c).str.to_uppercase()).when(lower).then(pl.col(c).str.to_lowercase()).otherwise(pl.col(c)).alias(c)
        for c in cols
    )

    # --- address and postcode --------------------------------------------------------
    fmt = pl.Series(r() < profile.address_format)
    addr = pl.col("address")
    abbreviated = addr
    for long, short in _ABBREVIATIONS:
        abbreviated = abbreviated.str.replace(long, short, literal=True)
    abbreviated = abbreviated.str.replace(r", [^,]*$", "")
    addr = pl.when(fmt).then(abbreviated).otherwise(addr)
    addr = pl.when(upper).then(addr.str.to_uppercase()).otherwise(addr)
    df = _typo(df, "postcode", r() < profile.postcode_typo / 2, rng)
    pc = pl.col("postcode").str.to_uppercase()
    nospace = pl.Series(r() < profile.postcode_typo / 2)
    pc = pl.when(nospace).then(pc.str.replace(" ", "", literal=True)).otherwise(pc)
    pc = pl.when(pl.Series(r() < profile.postcode_missing)).then(None).otherwise(pc)
    df = df.with_columns(addr.alias("address"), pc.alias("postcode"))

    # --- date of birth ---------------------------------------------------------------
    dob = people.dob[person].copy()
    y, m, d = ymd(dob)
    swap_dm = (d <= 12) & (d != m) & (r() < profile.dob_swap)
    dob[swap_dm] = from_ymd(y[swap_dm], d[swap_dm], m[swap_dm])
    off = r() < profile.dob_off_by_one
    by_year = r() < 0.4
    sign = np.where(r() < 0.5, -1, 1)
    dob[off & ~by_year] += sign[off & ~by_year]
    yy = off & by_year
    dob[yy] = from_ymd(y[yy] + sign[yy], m[yy], d[yy])
    placeholder = r() < profile.dob_placeholder
    # Placeholders: 1900-01-01, or 1 January of the (true) birth year.
    dob[placeholder] = np.where(r() < 0.5, _PLACEHOLDER_DAY, from_ymd(y, np.ones_like(y), np.ones_like(y)))[placeholder]
    dob_missing = r() < profile.dob_missing
    # Formatted by Polars: ten million Python date strings would cost gigabytes.
    dob_str = pl.Series(dob.astype("datetime64[D]")).cast(pl.Date).dt.to_string("%Y-%m-%d")

    # --- sex, NINO -------------------------------------------------------------------
    sex = pl.select(pl.when(pl.lit(pl.Series(people.male[person]))).then(pl.lit("M")).otherwise(pl.lit("F"))).to_series()
    sex_missing = r() < profile.sex_missing
    nino = ids.nino[person]
    age_then = (np.asarray(recorded_on) - people.dob[person]) / DAYS_PER_YEAR
    has_nino = (nino != "") & (age_then >= NINO_MIN_AGE) & (r() < profile.nino_recorded)
    nino_s = pl.Series(nino.astype(str), dtype=pl.String).set(pl.Series(nino == ""), None)
    nino_df = _typo(pl.DataFrame({"nino": nino_s}), "nino", r() < profile.nino_typo, rng)
    nino_df = nino_df.select(pl.col("nino").str.to_uppercase())
    ne = pl.col("nino")
    style = rng.integers(0, 3, size=n)
    fmt_mask = r() < profile.nino_format
    spaced = ne.str.slice(0, 2) + " " + ne.str.slice(2, 2) + " " + ne.str.slice(4, 2) + " " + ne.str.slice(6, 2) + " " + ne.str.slice(8, 1)
    ne = (
        pl.when(pl.Series(fmt_mask & (style == 0))).then(ne.str.to_lowercase())
        .when(pl.Series(fmt_mask & (style == 1))).then(spaced)
        .when(pl.Series(fmt_mask & (style == 2))).then(ne.str.slice(0, 8))
        .otherwise(ne)
    )  # fmt: skip
    nino_out = nino_df.select(pl.when(pl.Series(has_nino)).then(ne).otherwise(None).alias("nino"))["nino"]

    return pl.DataFrame(
        {
            "forename": df["forename"],
            "surname": df["surname"],
            "dob": dob_str.set(pl.Series(dob_missing), None),
            "sex": sex.set(pl.Series(sex_missing), None),
            "postcode": df["postcode"],
            "address": df["address"],
            "nino": nino_out,
        }
    )

