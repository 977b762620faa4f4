"""Name frequency tables and vectorised name sampling.

Names are handled as integer codes into one vocabulary while generating (so ten million
people cost ten million int32s, not ten million Python strings) and turned into strings
only when a table is written.

Frequencies are Zipf-like: the k-th name of a list has weight 1/k**s. Surname lists get a
long tail of rarer names built from English place-name parts (Ash+worth, Black+wood),
which is how most rare British surnames arose.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

NAMING_GROUPS = ("white_british", "sikh", "muslim", "other")
GROUP_CODE = {name: code for code, name in enumerate(NAMING_GROUPS)}
# 'other' is reported as one naming group but drawn from several traditions, one per
# household, so a Polish family has Polish forenames and surnames, not a mixture.
OTHER_TRADITIONS = {
    "other:polish": 0.30, "other:indian": 0.25, "other:african": 0.15,
    "other:caribbean": 0.15, "other:east_asian": 0.05, "other:romanian": 0.10,
}  # fmt: skip
TRADITIONS = ("white_british", "sikh", "muslim", *OTHER_TRADITIONS)

# Zipf exponents: forenames are less concentrated than surnames.
FORENAME_ZIPF = 0.7
SURNAME_ZIPF = 0.6

# Long tail of surnames: prefix × suffix, each rarer than any listed surname.
_TAIL_PREFIXES = ["Ash", "Black", "Brad", "Broad", "Cal", "Chat", "Hol", "Kings", "Mar", "Pen", "Whit", "Stan", "Wal", "Thorn", "Fair", "Brom", "Hather", "Ald", "Bur", "Dun", "Ever", "Gold", "Hart", "Lang", "Mid", "Nor", "Oak", "Red", "Ridg", "Salt", "Shel", "Sher", "Stock", "Wad", "Wet"]
_TAIL_SUFFIXES = ["ford", "ley", "ton", "field", "wood", "worth", "by", "ham", "well", "more", "ridge", "stone", "croft", "hurst"]


@dataclass(frozen=True)
class NameTables:
    vocab: list[str]
    # (tradition, sex 'M'/'F', era 'adult'/'child') → codes ordered by rank
    forenames: dict[tuple[str, str, str], np.ndarray]
    # tradition → surname codes by rank ('sikh' holds the Sikh family names, 'got')
    surnames: dict[str, np.ndarray]
    singh: int
    kaur: int
    begum: int
    bibi: int
    mohammed: int
    # code → code arrays for noise: nickname and transliteration alternatives
    nickname_from: np.ndarray
    nickname_to: np.ndarray
    variant_from: np.ndarray
    variant_to: np.ndarray

    def code(self, name: str) -> int:
        return self.vocab.index(name)


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("evalink.synth").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def tables() -> NameTables:
    fore = _read("forenames.csv")
    sur = _read("surnames.csv")
    nick = _read("nicknames.csv")
    var = _read("variants.csv")
    tail = [p + s for p in _TAIL_PREFIXES for s in _TAIL_SUFFIXES]
    words = (
        [r["name"] for r in fore]
        + [r["name"] for r in sur]
        + tail
        + [r["nickname"] for r in nick]
        + [r["name"] for r in nick]
        + [r["name"] for r in var]
        + ["Singh", "Kaur", "Begum", "Bibi", "Mohammed"]
    )
    vocab: list[str] = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}

    forenames: dict[tuple[str, str, str], list[int]] = {}
    for group in TRADITIONS:
        for sex in ("M", "F"):
            for era in ("adult", "child"):
                rows = [
                    r
                    for r in fore
                    if r["naming_group"] == group
                    and r["sex"] in (sex, "U")
                    and r["era"] in (era, "any")
                ]
                forenames[(group, sex, era)] = [index[r["name"]] for r in rows]
    surnames: dict[str, list[int]] = {}
    surnames["white_british"] = [index[r["name"]] for r in sur if r["naming_group"] == "white_british"] + [index[t] for t in tail]
    surnames["sikh"] = [index[r["name"]] for r in sur if r["naming_group"] == "sikh_family"]
    surnames["muslim"] = [index[r["name"]] for r in sur if r["naming_group"] == "muslim"]
    for tradition in OTHER_TRADITIONS:
        surnames[tradition] = [index[r["name"]] for r in sur if r["naming_group"] == tradition]

    # Transliteration variants: every spelling in a group maps to every other spelling.
    groups: dict[str, list[int]] = {}
    for r in var:
        groups.setdefault(r["group"], []).append(index[r["name"]])
    vf, vt = [], []
    for members in groups.values():
        for a in members:
            for b in members:
                if a != b:
                    vf.append(a)
                    vt.append(b)
    return NameTables(
        vocab=vocab,
        forenames={k: np.array(v, dtype=np.int32) for k, v in forenames.items()},
        surnames={k: np.array(v, dtype=np.int32) for k, v in surnames.items()},
        singh=index["Singh"],
        kaur=index["Kaur"],
        begum=index["Begum"],
        bibi=index["Bibi"],
        mohammed=index["Mohammed"],
        nickname_from=np.array([index[r["name"]] for r in nick], dtype=np.int32),
        nickname_to=np.array([index[r["nickname"]] for r in nick], dtype=np.int32),
        variant_from=np.array(vf, dtype=np.int32),
        variant_to=np.array(vt, dtype=np.int32),
    )


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return w / w.sum()


def sample_zipf(rng: np.random.Generator, codes: np.ndarray, size: int, exponent: float) -> np.ndarray:
    if size == 0:
        return np.empty(0, dtype=np.int32)
    cdf = np.cumsum(zipf_weights(len(codes), exponent))
    pick = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return codes[np.minimum(pick, len(codes) - 1)]


def sample_forenames(
    rng: np.random.Generator, tradition: np.ndarray, male: np.ndarray, child: np.ndarray
) -> np.ndarray:
    """One forename code per person, by naming tradition, sex and generation.

    Loops over the (tradition, sex, era) cells, never over people.
    """
    t = tables()
    group = tradition
    out = np.empty(len(group), dtype=np.int32)
    for g, gname in enumerate(TRADITIONS):
        for sex, is_male in (("M", True), ("F", False)):
            for era, is_child in (("adult", False), ("child", True)):
                mask = (group == g) & (male == is_male) & (child == is_child)
                out[mask] = sample_zipf(rng, t.forenames[(gname, sex, era)], int(mask.sum()), FORENAME_ZIPF)
    return out


def sample_surnames(rng: np.random.Generator, tradition: np.ndarray) -> np.ndarray:
    t = tables()
    group = tradition
    out = np.empty(len(group), dtype=np.int32)
    for g, gname in enumerate(TRADITIONS):
        mask = group == g
        out[mask] = sample_zipf(rng, t.surnames[gname], int(mask.sum()), SURNAME_ZIPF)
    return out


def lookup_alternative(
    rng: np.random.Generator, codes: np.ndarray, src: np.ndarray, dst: np.ndarray
) -> np.ndarray:
    """For each code, a random alternative from the (src → dst) table, or -1 if none."""
    order = np.argsort(src, kind="stable")
    src_s, dst_s = src[order], dst[order]
    left = np.searchsorted(src_s, codes, side="left")
    right = np.searchsorted(src_s, codes, side="right")
    count = right - left
    pick = left + np.floor(rng.random(len(codes)) * np.maximum(count, 1)).astype(np.int64)
    out = np.full(len(codes), -1, dtype=np.int32)
    has = count > 0
    out[has] = dst_s[pick[has]]
    return out
