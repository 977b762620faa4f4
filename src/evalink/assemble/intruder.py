"""The motivated intruder: an attack on the research dataset by someone who knows things
about the people in it, run before the dataset is sent and again when it is received.

An intruder is described in the policy (`intruders:`) by what it knows, as columns of
the released dataset: "knows `keyworker_cost`" means it knows each family's exact cost
and, since the generalisation rules are published, the band that cost was released in.
It also knows some outcome events (which kinds, and which of their columns) — all of
them for a family (the council knows every episode its own services recorded), or one
(an outsider knows a custody sentence that was in the news).

The attack links every released unit to the intruder's knowledge on every column it
knows, not only the declared quasi-identifiers:

- a released value left empty (suppressed) is compatible with anything;
- a family whose index month the intruder does not know (a waiting family's month is
  drawn at random; an outsider knows no one's) is tried at every month of the
  programme, so its events' months since the index are compatible whenever *some*
  index month in the released period puts them where they were released;
- `unit: family` compares whole families: the family-level columns and the multiset of
  members, each member with their known columns and their known events;
- `unit: person`, `targets: with_event`: each person with a known event is a target,
  looked for among the released persons who have an event released where it could be.

The knowledge comes from the exact table the linker built the release from (what the
council sent and the departments returned, before generalisation), so who is who is
known and a match is checked against the truth: a unit is *re-identified* when exactly
one candidate is compatible and it is the right one. The expected re-identification
rate counts 1/candidates for every unit whose truth is among its candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from evalink.assemble.generalise import (
    COARSE_MONTHS,
    Generalisation,
    birth_years,
    cost,
    family_size,
    headlines,
    index_period,
    month_number,
    months_band,
)
from evalink.errors import InputError
from evalink.policy.spec import Intruder, units_word

FAMILY = "family_pseudonym"
PERSON = "pseudonym"
# Columns that are the family's (one value per family); the rest are the person's.
FAMILY_COLUMNS = (
    "cohort",
    "index_period",
    "local_authority",
    "family_size",
    "headlines",
    "help_received",
    "keyworker_cost",
)
PERSON_COLUMNS = ("year_of_birth", "sex")
EMPTY = "∅"  # how a value the exact table does not have shows in a signature


@dataclass
class Risk:
    """What one intruder's attack found."""

    intruder: str
    unit: str
    units: int  # families or persons in the released dataset
    targets: int  # what the intruder tried to find (released units, or known persons)
    unique: int  # targets with exactly one compatible candidate
    reidentified: int  # families or persons found uniquely and rightly
    expected_rate: float  # Σ over units of 1/candidates where the truth is one, / units
    bound: float  # the policy's acceptable share of units re-identified
    enforced: bool = True
    # The units re-identified (pseudonyms): what local suppression works on. Never
    # written anywhere: only counts leave the attack.
    found: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def units_word(self) -> str:
        return units_word(self.unit)

    @property
    def share(self) -> float:
        return self.reidentified / self.units if self.units else 0.0

    @property
    def within(self) -> bool:
        return self.share <= self.bound

    def line(self) -> str:
        return (
            f"{self.intruder}: {self.reidentified:,} of {self.units:,} {self.units_word} "
            f"re-identified ({self.share:.2%}; the policy accepts {self.bound:.2%}"
            f"{'' if self.enforced else ', measured, not enforced'}); {self.unique:,} of "
            f"{self.targets:,} tried matched uniquely; expected rate {self.expected_rate:.2%}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "intruder": self.intruder,
            "unit": self.unit,
            "units": self.units,
            "targets": self.targets,
            "unique": self.unique,
            "reidentified": self.reidentified,
            "share": round(self.share, 6),
            "expected_rate": round(self.expected_rate, 6),
            "bound": self.bound,
            "enforced": self.enforced,
            "within": self.within,
        }


def check_columns(intruder: Intruder, columns: list[str] | tuple[str, ...]) -> None:
    """An intruder naming a column the released dataset does not have is a policy
    error: the attack would silently test less than the policy says."""
    named = list(intruder.knows)
    if intruder.events is not None:
        named += list(intruder.events.where) + list(intruder.events.knows)
    for name in named:
        if name not in columns:
            raise InputError(
                f"policy: intruder '{intruder.id}' knows column '{name}', which the research "
                "dataset does not have"
            )


def attack(
    exact: pl.DataFrame, released: pl.DataFrame, rule: Generalisation, intruder: Intruder
) -> Risk:
    """Run `intruder`'s attack on `released`, with its knowledge taken from `exact`."""
    check_columns(intruder, released.columns)
    knowledge = _knowledge(exact, rule, intruder)
    if intruder.unit == "family":
        return _family_attack(exact, knowledge, released, intruder)
    return _person_attack(knowledge, released, intruder)


# --- knowledge: the exact table as the intruder would see it through the release ------


def _knowledge(exact: pl.DataFrame, rule: Generalisation, intruder: Intruder) -> pl.DataFrame:
    """One row per exact row per index month the intruder must try, every known column
    computed as the release would have shown it at that index month."""
    table = exact.with_columns(
        index_month_number=month_number(pl.col("index_month")),
        start_number=month_number(pl.col("outcome_start")),
        end_number=month_number(pl.col("outcome_end")),
    )
    span = table["index_month_number"].drop_nulls()
    months = list(range(int(span.min()), int(span.max()) + 1)) if span.len() else [0]
    knows_index = "index_period" in intruder.knows
    # The council knows the month it attached a family; a drawn month no one knows.
    pinned = knows_index & (pl.col("index_source") == "attachment")
    table = table.with_columns(
        hypothesis=pl.when(pinned)
        .then(pl.concat_list(pl.col("index_month_number")))
        .otherwise(pl.lit(months, dtype=pl.List(pl.Int32)))
    ).explode("hypothesis")
    i = pl.col("hypothesis")
    values = {
        "index_period": index_period(i, rule.index),
        "year_of_birth": birth_years(pl.col("year_of_birth"), rule.birth_years),
        "keyworker_cost": cost(pl.col("keyworker_cost"), rule.cost_band),
        "headlines": headlines(pl.col("headlines"), rule.headlines),
        "family_size": family_size(pl.col("family_size"), rule.family_cap),
        "outcome_start_month": months_band(pl.col("start_number") - i, rule.month_band),
        "outcome_end_month": months_band(pl.col("end_number") - i, rule.month_band),
        "coarse_start_month": months_band(pl.col("start_number") - i, COARSE_MONTHS),
        "coarse_end_month": months_band(pl.col("end_number") - i, COARSE_MONTHS),
    }
    return table.with_columns(
        **{name: expr for name, expr in values.items()},
        released_index_period=index_period(i, rule.index),
    )


def _event_filter(intruder: Intruder, *, released: bool = False) -> pl.Expr:
    """The rows of the events the intruder knows. In a released table a value left empty
    by suppression may be any of them (a conviction whose sentence was withheld may be
    the custody the intruder knows of)."""
    assert intruder.events is not None
    return pl.all_horizontal(
        pl.col(column).cast(pl.Utf8).is_in(values) | (pl.lit(released) & pl.col(column).is_null())
        for column, values in intruder.events.where.items()
    )


def _text(columns: list[str]) -> pl.Expr:
    if not columns:
        return pl.lit("")
    return pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null(EMPTY) for c in columns], separator="|")


# --- families: the council, who knows every family of its cohort ----------------------


def _members(frame: pl.DataFrame, key: list[str], person_cols: list[str],
             intruder: Intruder) -> pl.DataFrame:
    """key + person → `member`: the person's known columns and sorted known events."""
    if person_cols:
        people = frame.group_by([*key, PERSON]).agg(pl.col(c).first() for c in person_cols)
    else:
        people = frame.select([*key, PERSON]).unique()
    if intruder.events is not None:
        events = (
            frame.filter(_event_filter(intruder))
            .with_columns(event=_text(list(intruder.events.knows)))
            .group_by([*key, PERSON])
            .agg(pl.col("event").sort().str.join(","))
        )
        people = people.join(events, on=[*key, PERSON], how="left")
    else:
        people = people.with_columns(event=pl.lit(""))
    return people.with_columns(
        member=pl.concat_str([_text(person_cols), pl.col("event").fill_null("")], separator="#")
    )


def _family_values(frame: pl.DataFrame, key: list[str], family_cols: list[str]) -> pl.DataFrame:
    if family_cols:
        return frame.group_by(key).agg(pl.col(c).first() for c in family_cols)
    return frame.select(key).unique()


def _patterns(frame: pl.DataFrame, key: str, columns: list[str]) -> pl.DataFrame:
    """key → which of `columns` the release left empty for it (suppressed: wildcards),
    and whether its outcome months were coarsened to COARSE_MONTHS bands."""
    width = pl.col("outcome_start_month").str.split("..")
    span = width.list.last().cast(pl.Int32, strict=False) - width.list.first().cast(
        pl.Int32, strict=False
    ) + 1
    return frame.group_by(key).agg(
        *(pl.col(c).is_null().all().alias(f"null_{c}") for c in columns),
        (span == COARSE_MONTHS).any().fill_null(False).alias("coarse"),
    )


def _by_pattern(patterns: pl.DataFrame, key: str, columns: list[str]):
    """(the columns shown, whether months are coarse, the keys shown exactly those) for
    each pattern present."""
    flags = [f"null_{c}" for c in columns] + ["coarse"]
    for pattern in patterns.select(flags).unique().iter_rows(named=True):
        keys = patterns.filter(
            pl.all_horizontal(pl.col(f) == v for f, v in pattern.items())
        ).select(key)
        yield [c for c in columns if not pattern[f"null_{c}"]], pattern["coarse"], keys


def _months(knowledge: pl.DataFrame, coarse: bool) -> pl.DataFrame:
    """The intruder's knowledge with the outcome months as the pattern released them."""
    if not coarse:
        return knowledge
    return knowledge.with_columns(
        outcome_start_month=pl.col("coarse_start_month"),
        outcome_end_month=pl.col("coarse_end_month"),
    )


def _family_attack(
    exact: pl.DataFrame, knowledge: pl.DataFrame, released: pl.DataFrame, intruder: Intruder
) -> Risk:
    family_cols = [c for c in FAMILY_COLUMNS if c in intruder.knows]
    person_cols = [c for c in PERSON_COLUMNS if c in intruder.knows]
    # The index period constrains which index months are possible even for an intruder
    # who does not know it: events were released relative to a month inside it.
    if "index_period" not in family_cols:
        knowledge = knowledge.with_columns(index_period=pl.col("released_index_period"))
        family_cols = ["index_period", *family_cols]
    kno_key = [FAMILY, "hypothesis"]
    pairs = []
    linked = released.filter(pl.col(FAMILY).is_not_null())
    # Whole families: the family's columns and the multiset of its members.
    for fam, coarse, keys in _by_pattern(_patterns(linked, FAMILY, family_cols), FAMILY,
                                         family_cols):
        rows = linked.join(keys, on=FAMILY)
        known = _months(knowledge, coarse)
        for per, _, fam_keys in _by_pattern(_patterns(rows, FAMILY, person_cols), FAMILY,
                                            person_cols):
            rel = _family_signature(rows.join(fam_keys, on=FAMILY), [FAMILY], fam, per, intruder)
            kno = _family_signature(known, kno_key, fam, per, intruder)
            pairs.append(_join(rel, FAMILY, kno))
    # A family whose link was withheld: each member alone, compatible with any family
    # that has such a member.
    unlinked = released.filter(pl.col(FAMILY).is_null())
    if unlinked.height:
        columns = family_cols + person_cols
        for cols, coarse, keys in _by_pattern(_patterns(unlinked, PERSON, columns), PERSON,
                                              columns):
            fam = [c for c in cols if c in family_cols]
            per = [c for c in cols if c in person_cols]
            rel = _member_signature(unlinked.join(keys, on=PERSON), [], fam, per, intruder)
            kno = _member_signature(_months(knowledge, coarse), kno_key, fam, per, intruder)
            pairs.append(_join(rel, PERSON, kno))
    found = pl.concat(pairs) if pairs else _no_pairs()
    found = _eliminate(found, set(linked[FAMILY].unique().to_list()))
    truth = exact.select(pl.col(PERSON), pl.col(FAMILY).alias("truth")).unique()
    found = _with_truth(found, linked, truth)
    families = exact[FAMILY].n_unique()
    targets = linked[FAMILY].n_unique() + unlinked[PERSON].n_unique()
    return _score(found, families, targets, intruder)


def _family_signature(frame, key, family_cols, person_cols, intruder) -> pl.DataFrame:
    members = _members(frame, key, person_cols, intruder)
    composition = members.group_by(key).agg(pl.col("member").sort().str.join("/"))
    return (
        _family_values(frame, key, family_cols)
        .join(composition, on=key)
        .with_columns(signature=pl.concat_str([_text(family_cols), pl.col("member")], separator="§"))
    )


def _member_signature(frame, key, family_cols, person_cols, intruder) -> pl.DataFrame:
    members = _members(frame, key, person_cols, intruder)
    values = _family_values(frame, [*key, PERSON], family_cols)
    return members.join(values, on=[*key, PERSON]).with_columns(
        signature=pl.concat_str([_text(family_cols), pl.col("member")], separator="§")
    )


def _eliminate(found: pl.DataFrame, linked: set[str]) -> pl.DataFrame:
    """An intruder who knows every family knows each released family is one of its own
    and each of its own is at most one released family: a family it matched to exactly
    one released family is no candidate for any other unit — not for another family,
    and not for a member released alone, whose family is not released whole. Repeated
    until nothing changes, as the intruder would."""
    while True:
        families = found.filter(pl.col("unit").is_in(list(linked)))
        alone = families.group_by("unit").agg(
            pl.col("candidate").n_unique().alias("n"), pl.col("candidate").first()
        ).filter(pl.col("n") == 1)
        # A candidate two families both match alone is not settled by either.
        taken = alone.group_by("candidate").agg(pl.col("unit").first().alias("owner"),
                                                pl.len().alias("claims"))
        taken = taken.filter(pl.col("claims") == 1).select("candidate", "owner")
        ruled_out = found.join(taken, on="candidate").filter(pl.col("unit") != pl.col("owner"))
        if ruled_out.height == 0:
            return found
        found = found.join(ruled_out.select("unit", "candidate"), on=["unit", "candidate"],
                           how="anti")


def _join(released: pl.DataFrame, unit: str, known: pl.DataFrame) -> pl.DataFrame:
    return (
        released.select(pl.col(unit).alias("unit"), "signature")
        .join(known.select(pl.col(FAMILY).alias("candidate"), "signature"), on="signature")
        .select("unit", "candidate")
        .unique()
    )


def _no_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema={"unit": pl.Utf8, "candidate": pl.Utf8})


def _with_truth(found: pl.DataFrame, linked: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """unit → its true family: itself for a released family, the exact table's family
    for a member released without a family."""
    families = set(linked[FAMILY].drop_nulls().unique().to_list())
    own = found.filter(pl.col("unit").is_in(list(families))).with_columns(truth=pl.col("unit"))
    alone = found.filter(~pl.col("unit").is_in(list(families))).join(
        truth.rename({PERSON: "unit"}), on="unit", how="left"
    )
    return pl.concat([own, alone.select(own.columns)]) if alone.height else own


# --- persons: an outsider who knows one event of one person ---------------------------


def _person_attack(knowledge: pl.DataFrame, released: pl.DataFrame, intruder: Intruder) -> Risk:
    if intruder.events is None:
        raise InputError(f"policy: intruder '{intruder.id}' of persons knows no event")
    known = [c for c in (*PERSON_COLUMNS, *FAMILY_COLUMNS) if c in intruder.knows]
    event_known = list(intruder.events.knows)
    events = knowledge.filter(_event_filter(intruder))
    if intruder.events.how_many == "one":
        # The target's one known event: their first of the kinds the intruder knows.
        first = events.group_by(PERSON).agg(pl.col("start_number").min().alias("first"))
        events = events.join(first, on=PERSON).filter(pl.col("start_number") == pl.col("first"))
    rel_events = released.filter(_event_filter(intruder, released=True))
    # A row counts only if at least one of the event's own columns was released (a
    # conviction whose sentence was withheld may be the custody; a row with all of
    # them empty says nothing of being that kind of event: describe the event by its
    # `outcome` too, so that a withheld detail leaves the row a candidate).
    rel_events = rel_events.filter(
        pl.any_horizontal(pl.col(c).is_not_null() for c in intruder.events.where)
    )
    # The released index period bounds where an event can sit for every intruder.
    columns = [*known, "index_period"] if "index_period" not in known else known
    events = events.with_columns(index_period=pl.col("released_index_period"))
    row_flags = [f"null_{c}" for c in event_known]
    rel_events = rel_events.with_columns(pl.col(c).is_null().alias(f"null_{c}") for c in event_known)
    pairs = []
    for cols, coarse, keys in _by_pattern(_patterns(released, PERSON, columns), PERSON, columns):
        rows = rel_events.join(keys, on=PERSON)
        known_events = _months(events, coarse)
        # Each released row shows some of the event's columns; compare on those.
        for shown in rows.select(row_flags).unique().iter_rows(named=True):
            event_cols = [c for c in event_known if not shown[f"null_{c}"]]
            these = rows.filter(pl.all_horizontal(pl.col(f) == v for f, v in shown.items()))
            rel = these.with_columns(
                signature=pl.concat_str([_text(cols), _text(event_cols)], separator="§")
            )
            kno = known_events.with_columns(
                signature=pl.concat_str([_text(cols), _text(event_cols)], separator="§")
            )
            pairs.append(
                kno.select(pl.col(PERSON).alias("unit"), "signature")
                .join(rel.select(pl.col(PERSON).alias("candidate"), "signature"), on="signature")
                .select("unit", "candidate")
                .unique()
            )
    found = pl.concat(pairs) if pairs else _no_pairs()
    found = found.with_columns(truth=pl.col("unit"))
    return _score(found, released[PERSON].n_unique(), events[PERSON].n_unique(), intruder)


def _score(found: pl.DataFrame, units: int, targets: int, intruder: Intruder) -> Risk:
    """found: unit, truth, candidate — every candidate compatible with each unit tried."""
    per = found.group_by("unit").agg(
        pl.col("truth").first(),
        pl.col("candidate").n_unique().alias("n"),
        (pl.col("candidate") == pl.col("truth")).any().alias("hit"),
    )
    unique = per.filter(pl.col("n") == 1)
    right = unique.filter(pl.col("hit"))
    # A family is found at most once, however many of its members were tried alone.
    chance = per.filter(pl.col("hit")).group_by("truth").agg((1 / pl.col("n")).max().alias("p"))
    expected = float(chance["p"].sum()) if chance.height else 0.0
    return Risk(
        intruder=intruder.id,
        unit=intruder.unit,
        units=units,
        targets=targets,
        unique=unique.height,
        reidentified=right["truth"].n_unique(),
        expected_rate=expected / units if units else 0.0,
        bound=intruder.max_reidentified,
        enforced=intruder.enforced,
        found=frozenset(right["unit"].to_list()),
    )


def risky_families(exact: pl.DataFrame, risk: Risk) -> set[str]:
    """The families of the units `risk` found re-identified (a person's family, for a
    person found alone): what local suppression works on."""
    people = exact.filter(pl.col(PERSON).is_in(list(risk.found)))
    return set(risk.found) - set(people[PERSON].to_list()) | set(people[FAMILY].to_list())


def unique_in_release(released: pl.DataFrame, intruder: Intruder) -> int:
    """The units alone in the released table on what `intruder` knows, taking the
    released values as what it knows: the attack the research node can run on receipt,
    without the exact values or the truth (an empty value counts as a value here, so
    this is an upper bound on what a suppressed table gives away)."""
    check_columns(intruder, released.columns)
    if intruder.unit == "family":
        family_cols = [
            c for c in FAMILY_COLUMNS
            if c in intruder.knows or (c == "index_period" and c in released.columns)
        ]
        person_cols = [c for c in PERSON_COLUMNS if c in intruder.knows]
        linked = released.filter(pl.col(FAMILY).is_not_null())
        families = _family_signature(linked, [FAMILY], family_cols, person_cols, intruder)
        alone = released.filter(pl.col(FAMILY).is_null())
        members = _member_signature(alone, [], family_cols, person_cols, intruder)
        signatures = pl.concat([families.select("signature"), members.select("signature")])
    else:
        if intruder.events is None:
            raise InputError(f"policy: intruder '{intruder.id}' of persons knows no event")
        known = [c for c in (*PERSON_COLUMNS, *FAMILY_COLUMNS) if c in intruder.knows]
        columns = [c for c in (*known, "index_period", *intruder.events.knows)
                   if c in released.columns]
        signatures = (
            released.filter(_event_filter(intruder))
            .with_columns(signature=_text(list(dict.fromkeys(columns))))
            .select(PERSON, "signature")
            .unique()
            .group_by("signature")
            .agg(pl.len().alias("persons"))
            .filter(pl.col("persons") == 1)
        )
        return signatures.height
    return signatures.group_by("signature").len().filter(pl.col("len") == 1).height
