"""Eligibility rules as data: headline problems, each met by any of several indicators.

A rules file names indicators (which a mapping file produces from the council's own
extracts), a threshold and a look-back window for each, and how many headlines make a
family eligible. Evaluating it needs nothing but a long table of events:

    person_key | indicator | start | end | value | base | source | source_record_id

A single event (an incident, an exclusion) has `end` equal to `start`; an episode (a
Child in Need plan, a benefit spell) runs from `start` to `end`, or is still open when
`end` is missing, and counts while it overlaps the look-back window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from evalink.errors import InputError
from evalink.policy.spec import Period
from evalink.yamlfile import load_model

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
ADULT_AGE = 18


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One way to meet a headline: an indicator over a look-back window, with a threshold."""

    indicator: Id
    who: Literal["child", "adult", "any"] = "any"
    look_back: Period
    # Exactly one threshold: a count of events, or a share (sum of value / sum of base,
    # e.g. sessions missed / sessions possible).
    count_at_least: int | None = Field(default=None, ge=1)
    share_at_least: float | None = Field(default=None, gt=0, le=1)
    description: str | None = None

    @field_validator("look_back", mode="before")
    @classmethod
    def _period(cls, value: object) -> object:
        return Period.parse(value) if isinstance(value, str) else value


class Headline(_Strict):
    id: Id
    title: str
    weight: float = Field(default=1.0, gt=0)
    any_of: list[Condition] = Field(min_length=1)


class Rules(_Strict):
    id: str
    title: str
    min_headlines: int = Field(ge=1)
    headlines: list[Headline] = Field(min_length=1)

    def indicators(self) -> set[str]:
        return {c.indicator for h in self.headlines for c in h.any_of}


def load_rules(path: Path | str, known_indicators: Iterable[str] | None = None) -> Rules:
    """Read and check a rules file; errors name the file and the place in it.

    With `known_indicators` (those the mapping file produces), an indicator nobody
    produces — usually a typo — is an error rather than a headline that never fires.
    """
    path = Path(path)
    rules = load_model(path, Rules, "rules")
    _check(path, rules, set(known_indicators) if known_indicators is not None else None)
    return rules


def _check(path: Path, rules: Rules, known: set[str] | None) -> None:
    if rules.min_headlines > len(rules.headlines):
        raise InputError(
            f"{path}: min_headlines: {rules.min_headlines} is more than the "
            f"{len(rules.headlines)} headlines defined, so no family could be eligible"
        )
    seen: set[str] = set()
    for i, headline in enumerate(rules.headlines):
        if headline.id in seen:
            raise InputError(f"{path}: headlines[{i}].id: '{headline.id}' is defined twice")
        seen.add(headline.id)
        for j, condition in enumerate(headline.any_of):
            where = f"headlines[{i}].any_of[{j}]"
            if (condition.count_at_least is None) == (condition.share_at_least is None):
                raise InputError(f"{path}: {where}: give one of count_at_least or share_at_least")
            if condition.look_back.amount < 1:
                raise InputError(f"{path}: {where}.look_back: must be at least one day")
            if known is not None and condition.indicator not in known:
                close = sorted(known, key=lambda k: _distance(k, condition.indicator))[:1]
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise InputError(
                    f"{path}: {where}.indicator: unknown indicator '{condition.indicator}'{hint}"
                )


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, to suggest the indicator a typo meant."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


EVENT_SCHEMA = {
    "person_key": pl.Utf8,
    "indicator": pl.Utf8,
    "start": pl.Date,
    "end": pl.Date,
    "value": pl.Float64,
    "base": pl.Float64,
    "source": pl.Utf8,
    "source_record_id": pl.Utf8,
}


def evaluate(
    rules: Rules, events: pl.DataFrame, persons: pl.DataFrame, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Which families meet which headlines on `as_of`, and the evidence for each.

    `persons`: person_key, family_key, dob. Returns (families, evidence):
    families — family_key, headlines (list), headline_count, eligible, priority, for
    every family in `persons`; evidence — family_key, headline, rule, person_key,
    source, source_record_id, start: the events that met each headline.
    """
    people = persons.select(
        "person_key",
        "family_key",
        (age_on(pl.col("dob"), as_of) < ADULT_AGE).alias("is_child"),
    ).filter(pl.col("family_key").is_not_null())
    events = events.join(people, on="person_key", how="inner")
    evidence_parts = []
    for headline in rules.headlines:
        for j, condition in enumerate(headline.any_of):
            met = _condition_met(condition, events, as_of)
            evidence_parts.append(
                met.with_columns(
                    pl.lit(headline.id).alias("headline"),
                    pl.lit(f"{headline.id}.any_of[{j}]: {_describe(condition)}").alias("rule"),
                )
            )
    # Rules have at least one headline with one condition, so there is always a part.
    evidence = pl.concat(evidence_parts, how="vertical")
    evidence = evidence.select(
        "family_key", "headline", "rule", "person_key", "source", "source_record_id", "start"
    ).sort("family_key", "headline", "start", "source", "source_record_id")

    order = {h.id: i for i, h in enumerate(rules.headlines)}
    weights = pl.DataFrame(
        {"headline": [h.id for h in rules.headlines], "weight": [h.weight for h in rules.headlines]}
    )
    met_headlines = (
        evidence.select("family_key", "headline")
        .unique()
        .join(weights, on="headline")
        .with_columns(
            pl.col("headline").replace_strict(order, return_dtype=pl.Int32).alias("_order")
        )
        .sort("family_key", "_order")
        .group_by("family_key", maintain_order=True)
        .agg(
            pl.col("headline").alias("headlines"),
            pl.len().cast(pl.Int32).alias("headline_count"),
            pl.col("weight").sum().alias("priority"),
        )
    )
    families = (
        people.select("family_key")
        .unique()
        .join(met_headlines, on="family_key", how="left")
        .with_columns(
            pl.col("headlines").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
            pl.col("headline_count").fill_null(0),
            pl.col("priority").fill_null(0.0),
        )
        .with_columns((pl.col("headline_count") >= rules.min_headlines).alias("eligible"))
        .sort("family_key")
    )
    return families, evidence


def _condition_met(condition: Condition, events: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The events of the people who meet one condition (empty if nobody does)."""
    window_start = condition.look_back.before(as_of)
    in_window = (
        (pl.col("indicator") == condition.indicator)
        & (pl.col("start") <= as_of)
        & (pl.col("end").is_null() | (pl.col("end") >= window_start))
    )
    if condition.who == "child":
        in_window &= pl.col("is_child")
    elif condition.who == "adult":
        in_window &= ~pl.col("is_child")
    relevant = events.filter(in_window)
    per_person = relevant.group_by("person_key").agg(
        pl.len().alias("n"),
        pl.col("value").sum().alias("value"),
        pl.col("base").sum().alias("base"),
    )
    if condition.count_at_least is not None:
        passing = per_person.filter(pl.col("n") >= condition.count_at_least)
    else:
        passing = per_person.filter(
            (pl.col("base") > 0) & (pl.col("value") / pl.col("base") >= condition.share_at_least)
        )
    return relevant.join(passing.select("person_key"), on="person_key", how="semi")


def _describe(condition: Condition) -> str:
    who = "" if condition.who == "any" else f" ({condition.who})"
    if condition.count_at_least is not None:
        threshold = f"at least {condition.count_at_least}"
    else:
        threshold = f"share at least {condition.share_at_least:g}"
    return f"{condition.indicator}{who} {threshold} in {condition.look_back}"


def age_on(dob: pl.Expr, on: date) -> pl.Expr:
    """Whole years of age on `on` (null dob → null)."""
    had_birthday = (dob.dt.month() < on.month) | (
        (dob.dt.month() == on.month) & (dob.dt.day() <= on.day)
    )
    return on.year - dob.dt.year() - (~had_birthday).cast(pl.Int32)
