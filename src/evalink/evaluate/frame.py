"""From the research dataset as researchers receive it to what the estimators need:
one row per person in an outcome's population, with the baseline covariates and the
outcome in each window.

The dataset is long (one row per outcome record, a person's attributes repeated on
each) and de-identified: dates are months since the family's index date, possibly in
bands (`7..12`); the index date is a period (`2015-Q3`, `2015-H2`, `2015`,
`2014-2015`); years of birth may be bands; and for families an intruder would single
out, some values are withheld. Nothing is guessed back: a band counts in a window by
the share of its months inside the window (its expected count, were the event
anywhere in the band with equal chance), and a withheld value is its own category.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalink.evaluate.plan import Covariate, FamilyHistory, Measure, Outcome, Plan, Window

PROGRAMME, COMPARISON = "attached", "eligible_waiting"
UNKNOWN = "withheld"
AGE_BANDS = ((0, 4), (5, 9), (10, 15), (16, 17), (18, 24), (25, 39), (40, 64), (65, 120))

_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|\d{2}|\d{4}))?$")


def period_months(text: object) -> tuple[float, float]:
    """A released index period → its first and last month numbers (year·12 + month−1);
    NaN for a withheld one. '2015-Q3' → July to September 2015."""
    if not isinstance(text, str) or not (found := _PERIOD.match(text)):
        return (np.nan, np.nan)
    year, part = int(found.group(1)), found.group(2)
    start = year * 12
    if part is None:
        return (start, start + 11)
    if part.startswith("Q"):
        first = start + 3 * (int(part[1]) - 1)
        return (first, first + 2)
    if part.startswith("H"):
        first = start + 6 * (int(part[1]) - 1)
        return (first, first + 5)
    if len(part) == 4:  # two years
        return (start, int(part) * 12 + 11)
    return (start + int(part) - 1, start + int(part) - 1)


def band(text: object) -> tuple[float, float]:
    """A released number or band ('7', '7..12', '-12..-7', '1985', '1985-1989') → its
    inclusive ends; NaN for none."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return (np.nan, np.nan)
    value = str(text)
    if ".." in value:
        low, high = value.split("..", 1)
        return (float(low), float(high))
    if re.fullmatch(r"\d{4}-\d{4}", value):
        return (float(value[:4]), float(value[5:]))
    try:
        number = float(value)
    except ValueError:
        return (np.nan, np.nan)
    return (number, number)


def overlap(low: np.ndarray, high: np.ndarray, window: Window) -> np.ndarray:
    """The share of each band's months that fall in `window` (0 for no month)."""
    inside = np.minimum(high, window.to_month) - np.maximum(low, window.from_month) + 1
    share = np.clip(inside, 0, None) / (high - low + 1)
    return np.nan_to_num(share, nan=0.0)


@dataclass
class Persons:
    """Every person of the dataset once, with what the covariates are made from."""

    table: pd.DataFrame  # pseudonym, family, programme, index_month, age_low, age_high, …
    rows: pd.DataFrame  # the dataset's outcome rows: pseudonym, source, start_low, start_high, …
    # pseudonym × source → the link's match probability, for every person a department
    # found (one found with nothing to return still has a row, its outcome empty).
    links: pd.Series


def persons(dataset: pd.DataFrame) -> Persons:
    """The dataset's persons and their outcome rows, parsed once for every outcome."""
    first = dataset.drop_duplicates("pseudonym").set_index("pseudonym")
    index = np.array([period_months(p) for p in first["index_period"]], dtype=float).reshape(-1, 2)
    born = np.array([band(b) for b in first["year_of_birth"]], dtype=float).reshape(-1, 2)
    index_year_low, index_year_high = index[:, 0] // 12, index[:, 1] // 12
    headlines = first["headlines"].map(_headlines)
    table = pd.DataFrame(
        {
            # A family whose link was withheld is, for clustering, each member alone.
            "family": first["family_pseudonym"].where(
                first["family_pseudonym"].notna(), "person:" + first.index.to_series()
            ),
            "programme": (first["cohort"] == PROGRAMME).astype(int),
            "cohort": first["cohort"],
            "index_month": index.mean(axis=1),
            "index_period": first["index_period"].fillna(UNKNOWN).astype(str),
            "age_low": index_year_low - born[:, 1] - 1,
            "age_high": index_year_high - born[:, 0],
            "sex": first["sex"].fillna(UNKNOWN).astype(str),
            "family_size": first["family_size"].fillna(UNKNOWN).astype(str),
            "area": first["local_authority"].fillna(UNKNOWN).astype(str),
            "headline_count": headlines.map(lambda h: h[0]),
            "children_need_help": headlines.map(lambda h: h[1]),
            "keyworker_cost": [_middle(band(c)) for c in first.get("keyworker_cost", [None] * len(first))],
        },
        index=first.index,
    )
    table["age_band"] = [_age_band(lo, hi) for lo, hi in zip(table["age_low"], table["age_high"], strict=True)]
    table = table[table["cohort"].isin([PROGRAMME, COMPARISON])]
    rows = dataset.loc[dataset["outcome"].notna()].copy()
    start = np.array([band(m) for m in rows["outcome_start_month"]], dtype=float).reshape(-1, 2)
    rows["start_low"], rows["start_high"] = start[:, 0], start[:, 1]
    found = dataset.loc[dataset["source"].notna()]
    links = (
        pd.to_numeric(found["match_probability"], errors="coerce")
        .groupby([found["pseudonym"], found["source"]]).max()
    )
    return Persons(table=table, rows=rows, links=links)


def _middle(ends: tuple[float, float]) -> float:
    low, high = ends
    return (low + high + (1 if high > low else 0)) / 2 if not np.isnan(low) else np.nan


def _headlines(text: object) -> tuple[str, str]:
    """(how many, children_need_help yes/no) from the released headlines: the list
    itself, or its number with or without 'children_need_help'."""
    if not isinstance(text, str) or not text:
        return (UNKNOWN, UNKNOWN)
    items = text.split(";")
    if items[0].isdigit():
        count = items[0]
        # At the coarsest rung the number alone is released: whether the children
        # needed help is then unknown, not no.
        flag = "yes" if "children_need_help" in items[1:] else ("no" if len(items) > 1 or ";" in text else UNKNOWN)
        return (count, flag)
    return (str(len(items)), "yes" if "children_need_help" in items else "no")


def _age_band(low: float, high: float) -> str:
    if np.isnan(low) or np.isnan(high):
        return UNKNOWN
    middle = (low + high) / 2
    for first, last in AGE_BANDS:
        if first <= middle <= last + 0.999:
            return f"{first}-{last}"
    return UNKNOWN


@dataclass
class OutcomeData:
    """One outcome's population, ready for an estimator."""

    name: str
    outcome: Outcome
    persons: pd.DataFrame  # pseudonym (index), family, programme, index_month, covariates, history
    covariates: list[str]  # the design matrix's columns in `persons`
    y: pd.DataFrame  # persons × window label: the person's outcome (NaN: not measured)
    base: pd.DataFrame  # persons × window label: the denominator of a mean_share (else 1)
    match_probability: pd.Series  # the link's probability for the outcome's source; NaN unlinked
    events: pd.DataFrame  # the outcome's rows: pseudonym, start_low, start_high, value, base


def in_population(table: pd.DataFrame, outcome: Outcome) -> pd.Series:
    youngest, oldest = outcome.population.ages
    unknown = table["age_low"].isna()
    return unknown | ((table["age_high"] >= youngest) & (table["age_low"] <= oldest))


def outcome_events(people: Persons, outcome: Outcome | FamilyHistory) -> pd.DataFrame:
    rows = people.rows
    chosen = rows["source"] == outcome.events.source
    for column, values in outcome.events.where.items():
        chosen &= rows[column].astype(str).isin(values)
    events = rows.loc[chosen, ["pseudonym", "start_low", "start_high"]].copy()
    if outcome.measure is Measure.MEAN_SHARE:
        assert outcome.value and outcome.base
        events["value"] = pd.to_numeric(rows.loc[chosen, outcome.value], errors="coerce")
        events["base"] = pd.to_numeric(rows.loc[chosen, outcome.base], errors="coerce")
        events = events.dropna(subset=["value", "base"])
    else:
        events["value"], events["base"] = 1.0, np.nan
    return events.reset_index(drop=True)


def window_outcome(events: pd.DataFrame, persons: pd.Index, window: Window,
                   measure: Measure) -> tuple[pd.Series, pd.Series]:
    """Each person's outcome in `window` and its denominator. A person with no term in
    the window has no mean_share (NaN): they were not at school then."""
    share = overlap(events["start_low"].to_numpy(), events["start_high"].to_numpy(), window)
    frame = pd.DataFrame({"pseudonym": events["pseudonym"], "share": share,
                          "value": events["value"], "base": events["base"]})
    frame = frame[frame["share"] > 0]
    if measure is Measure.MEAN_SHARE:
        grouped = frame.assign(value=frame["value"] * frame["share"],
                               base=frame["base"] * frame["share"]).groupby("pseudonym")
        value = grouped["value"].sum().reindex(persons)
        base = grouped["base"].sum().reindex(persons)
        base = base.where(base > 0)
        return value / base, base.fillna(0.0)
    if measure is Measure.ANY_EVENT:
        # The chance of at least one event, each band counting by its share.
        none = frame.assign(miss=np.log1p(-frame["share"].clip(upper=1 - 1e-12)))
        chance = 1 - np.exp(none.groupby("pseudonym")["miss"].sum())
        chance[none.groupby("pseudonym")["share"].max() >= 1] = 1.0
        return chance.reindex(persons).fillna(0.0), pd.Series(1.0, index=persons)
    count = frame.groupby("pseudonym")["share"].sum().reindex(persons).fillna(0.0)
    return count / (window.months / 12), pd.Series(1.0, index=persons)


def _own_history(events: pd.DataFrame, table: pd.DataFrame, window: Window,
                 measure: Measure) -> pd.DataFrame:
    """The outcome's own measure in a window before the index date: whether any event
    (any_event), how many a year (events_per_person_year), or the share itself with a
    flag for none recorded (mean_share)."""
    value, _ = window_outcome(events, table.index, window, measure)
    column = f"history {window.from_month}..{window.to_month}"
    if measure is Measure.MEAN_SHARE:
        return pd.DataFrame({column: value.fillna(0.0).to_numpy(),
                             f"{column} none": value.isna().astype(float).to_numpy()},
                            index=table.index)
    return pd.DataFrame({column: value.to_numpy()}, index=table.index)


def family_histories(people: Persons, plan: Plan) -> pd.DataFrame:
    """Each person's family history covariates (the family's, repeated on each member):
    0/1 for any event, the share itself for a mean_share (0 with a 'none' flag for a
    family with no such record)."""
    table = people.table
    out = pd.DataFrame(index=table.index)
    for name, history in plan.family_history.items():
        events = outcome_events(people, history)
        value, base = window_outcome(events, table.index, history.window, history.measure)
        by_family = pd.DataFrame({"family": table["family"], "value": value, "base": base})
        if history.measure is Measure.MEAN_SHARE:
            weighted = (by_family["value"].fillna(0) * by_family["base"]).groupby(by_family["family"]).sum()
            total = by_family["base"].groupby(by_family["family"]).sum()
            share = (weighted / total.where(total > 0)).reindex(table["family"]).to_numpy()
            out[f"family {name}"] = np.nan_to_num(share)
            out[f"family {name} none"] = np.isnan(share).astype(float)
        else:
            had = by_family["value"].groupby(by_family["family"]).max()
            out[f"family {name}"] = had.reindex(table["family"]).to_numpy()
    return out


def outcome_data(people: Persons, plan: Plan, name: str,
                 families: pd.DataFrame | None = None) -> OutcomeData:
    """The persons an outcome applies to, their covariates (the plan's, and the
    outcome's own history) as a 0/1 design, and their outcome in every window."""
    outcome = plan.outcomes[name]
    table = people.table[in_population(people.table, outcome)].copy()
    events = outcome_events(people, outcome)
    events = events[events["pseudonym"].isin(table.index)]
    design = [_dummies(table, covariate) for covariate in plan.covariates]
    history = [_own_history(events, table, window, outcome.measure) for window in plan.history]
    # The family's own record of this outcome over every history window together: need
    # is the family's, and a child not yet born or at school has a sibling who was.
    widest = Window(from_month=min(w.from_month for w in plan.history),
                    to_month=max(w.to_month for w in plan.history))
    mine = _own_history(events, table, widest, outcome.measure)
    members = mine.groupby(table["family"]).transform("max")
    history.append(members.rename(columns=lambda c: c.replace("history", "family history")))
    if families is not None and len(families.columns):
        history.append(families.loc[table.index])
    covariates = pd.concat(design + history, axis=1) if design or history else pd.DataFrame(index=table.index)
    covariates = covariates.loc[:, covariates.std() > 0]  # a constant column says nothing
    y, base = {}, {}
    for window in plan.windows:
        y[window.label()], base[window.label()] = window_outcome(events, table.index, window, outcome.measure)
    source = outcome.events.source
    if source in people.links.index.get_level_values("source"):
        probability = people.links.xs(source, level="source").reindex(table.index)
    else:
        probability = pd.Series(np.nan, index=table.index)
    persons_table = pd.concat([table[["family", "programme", "index_month", "keyworker_cost"]], covariates], axis=1)
    return OutcomeData(
        name=name, outcome=outcome, persons=persons_table, covariates=list(covariates.columns),
        y=pd.DataFrame(y), base=pd.DataFrame(base), match_probability=probability,
        events=events,
    )


def _dummies(table: pd.DataFrame, covariate: Covariate) -> pd.DataFrame:
    """A categorical covariate as 0/1 columns, the commonest level left out, after
    `pooled` has merged the levels one arm lacks."""
    values = pooled(table[covariate.value].astype(str), table["programme"], covariate)
    reference = values.value_counts().index[0]
    dummies = pd.get_dummies(values, prefix=covariate.value, prefix_sep="=", dtype=float)
    return dummies.drop(columns=f"{covariate.value}={reference}")


# A level of a covariate held by fewer persons than this in either arm is pooled.
MIN_IN_EACH_ARM = 5
ORDERED = {Covariate.HEADLINE_COUNT, Covariate.FAMILY_SIZE, Covariate.AGE_BAND}


def _order(level: str) -> float:
    """'3' → 3, '4+' → 4, '10-15' → 10; a level with no number sorts last."""
    found = re.match(r"^(\d+)", level)
    return float(found.group(1)) if found else np.inf


def pooled(values: pd.Series, programme: pd.Series, covariate: Covariate) -> pd.Series:
    """The covariate's levels, with those seen (almost) only in one arm merged: no
    weighting can balance a level the comparison arm lacks, so the programme's five
    families with six headline problems are compared as families with four or more.
    An ordered covariate's extreme levels merge into their neighbour (`4+`, `up to 5-9`);
    another's rare levels merge into its commonest. The withheld level stays its own."""
    values = values.copy()

    def thin(level: str) -> bool:
        chosen = values == level
        return min(int((programme[chosen] == 1).sum()), int((programme[chosen] == 0).sum())) < MIN_IN_EACH_ARM

    if covariate in ORDERED:
        for from_top in (True, False):
            while True:
                levels = sorted((v for v in values.unique() if v != UNKNOWN), key=_order, reverse=from_top)
                if len(levels) < 2 or not thin(levels[0]):
                    break
                edge, neighbour = levels[0], levels[1]
                merged = f"{int(_order(neighbour))}+" if from_top else f"up to {neighbour}"
                values[(values == edge) | (values == neighbour)] = merged
    else:
        common = values.value_counts().index[0]
        for level in list(values.unique()):
            if level not in (common, UNKNOWN) and thin(level):
                values[values == level] = common
    return values
