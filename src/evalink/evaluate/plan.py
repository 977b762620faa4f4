"""The analysis plan: what the evaluation measures, written down before any result.

A plan is data (`examples/evaluation-plan.yaml`): each outcome as the research
dataset's columns define it, the windows after the index date, the baseline
covariates, the estimators and the unit costs. `evalink evaluate` registers the plan's
SHA-256 at the research node the first time it runs a project; a changed plan needs a
new version (see `registry.py`), so no one can try outcomes until one gives a result.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evalink.errors import InputError
from evalink.yamlfile import load_model, read_text

# What the evaluation reads of every row, whatever the plan.
REQUIRED_COLUMNS = (
    "pseudonym", "family_pseudonym", "cohort", "index_period", "source",
    "outcome_start_month", "match_probability",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measure(StrEnum):
    """How an outcome is counted for a person in a window."""

    ANY_EVENT = "any_event"  # the share of persons with at least one event
    EVENTS_PER_PERSON_YEAR = "events_per_person_year"
    MEAN_SHARE = "mean_share"  # e.g. sessions missed over sessions possible

    @property
    def ratio_name(self) -> str:
        """The effect's name in `effects.csv`."""
        return "ratio_of_means" if self is Measure.MEAN_SHARE else "rate_ratio"


class Method(StrEnum):
    # Weighting by the odds of the score, for the effect on families worked with.
    # Matching is not offered: its bootstrap intervals are not valid (Abadie & Imbens
    # 2008), and weighting keeps every comparison family rather than a matched few.
    PROPENSITY_WEIGHTING = "propensity_weighting"


class StaggeredMethod(StrEnum):
    CALLAWAY_SANTANNA = "callaway_santanna"


class Covariate(StrEnum):
    """The baseline covariates a plan may adjust for, each read from the research
    dataset's person columns (`frame.py` says how)."""

    HEADLINE_COUNT = "headline_count"
    CHILDREN_NEED_HELP = "children_need_help"
    AGE_BAND = "age_band"
    SEX = "sex"
    FAMILY_SIZE = "family_size"
    AREA = "area"
    INDEX_PERIOD = "index_period"


Months = Annotated[int, Field(ge=-120, le=120)]


class Window(Strict):
    from_month: Months
    to_month: Months

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.to_month < self.from_month:
            raise ValueError(f"to_month {self.to_month} is before from_month {self.from_month}")
        return self

    @property
    def months(self) -> int:
        return self.to_month - self.from_month + 1

    def label(self) -> str:
        return f"{self.from_month}-{self.to_month}"


def _window(value: object) -> object:
    # `[7, 12]` reads better in a plan than a mapping.
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError("a window is [from_month, to_month]")
        return {"from_month": value[0], "to_month": value[1]}
    return value


class Population(Strict):
    """Who an outcome applies to: ages at the index date, inclusive. A person whose
    released year of birth is a band is in the population when the band's ages overlap
    these; one whose year of birth was withheld is in it too (the same in both arms, so a
    ratio is not biased by them, only diluted)."""

    ages: tuple[int, int] = (0, 120)

    @field_validator("ages")
    @classmethod
    def _ages(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1] <= 120:
            raise ValueError("ages are [youngest, oldest] between 0 and 120")
        return value


class Events(Strict):
    """Which rows of the research dataset are this outcome's events: a department's
    `source`, and the values the named columns take (`{outcome: [LAC]}`)."""

    source: str
    where: dict[str, list[str]] = Field(min_length=1)


class Outcome(Strict):
    label: str
    events: Events
    population: Population = Population()
    measure: Measure
    # For `mean_share`: the columns of the numerator and the denominator.
    value: str | None = None
    base: str | None = None
    # The unit-cost items (keys of `costs.unit_costs`) one avoided event saves.
    unit_costs: list[str] = []
    # Which effect of `evalink synth` this outcome measures, for validity benchmarks only.
    planted_effect: str | None = None


class FamilyHistory(Strict):
    """A covariate from the family's records before the index date: whether any member
    had such an event (or, for a mean_share, the family's share). The headline problems
    selection followed are judged on the family, and where the dataset withholds them
    (for a family an intruder would single out) these records still show the need."""

    label: str
    events: Events
    measure: Measure = Measure.ANY_EVENT
    value: str | None = None
    base: str | None = None
    window: Window = Window(from_month=-48, to_month=-1)

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> object:
        return _window(value)

    @model_validator(mode="after")
    def _measure(self) -> FamilyHistory:
        if self.measure is Measure.EVENTS_PER_PERSON_YEAR:
            raise ValueError("a family history is any_event or mean_share")
        if self.measure is Measure.MEAN_SHARE and not (self.value and self.base):
            raise ValueError("a mean_share names its value and base columns")
        if self.window.to_month >= 0:
            raise ValueError("a family history ends before the index month (to_month < 0)")
        return self


class Weights(StrEnum):
    """Whom the weighted arms stand for. `att`: the families worked with (comparison
    persons weighted by the odds of their score). `overlap`: the families whose need made
    them as likely to be worked with as not (programme persons weighted 1 − e, comparison
    persons e; Li, Morgan & Zaslavsky 2018) — with a ratio the same for every family the
    same effect, and far less thrown by a stratum of great need that few families
    waiting share: there the odds weights rest on a handful of comparison persons."""

    ATT = "att"
    OVERLAP = "overlap"


class Primary(Strict):
    method: Method = Method.PROPENSITY_WEIGHTING
    weights: Weights = Weights.ATT
    # Propensity scores outside [trim, 1 - trim] are clipped: a comparison person almost
    # certain to have been worked with would otherwise carry a huge weight.
    trim: float = Field(0.01, gt=0, lt=0.5)


class Staggered(Strict):
    method: StaggeredMethod = StaggeredMethod.CALLAWAY_SANTANNA
    period_months: int = Field(6, ge=1, le=24)


class Estimators(Strict):
    primary: Primary = Primary()
    staggered: Staggered | None = Staggered()
    confidence: float = Field(0.95, gt=0.5, lt=1)
    # Replicates of the bootstrap over families that gives the primary estimator's
    # intervals and the cost-benefit intervals; the seed makes a run repeatable.
    bootstrap: int = Field(200, ge=50, le=10_000)
    seed: int = 0
    # Balance is acceptable when every adjusted standardised mean difference is below this.
    max_smd: float = Field(0.1, gt=0)


class LinkageSensitivity(Strict):
    min_match_probability: float = Field(0.99, gt=0, le=1)


class UnitCost(Strict):
    fiscal: float = Field(ge=0)
    economic: float | None = Field(None, ge=0)
    unit: str
    note: str = ""


class Costs(Strict):
    currency: str = "GBP"
    price_year: str
    # The programme's cost per family when the dataset's banded keyworker cost is withheld.
    programme_cost_per_family: float = Field(gt=0)
    unit_costs: dict[str, UnitCost]


class Plan(Strict):
    # The project whose research dataset this plan is for. Left out, the plan is for the
    # project of the dataset the node holds (registered under that project's name).
    project: str | None = None
    version: int = Field(ge=1)
    title: str
    dataset: str = "research_dataset"
    windows: list[Window] = Field(min_length=1)
    history: list[Window] = Field(min_length=1)
    covariates: list[Covariate]
    family_history: dict[str, FamilyHistory] = {}
    estimators: Estimators = Estimators()
    linkage_sensitivity: LinkageSensitivity = LinkageSensitivity()
    costs: Costs
    outcomes: dict[str, Outcome] = Field(min_length=1)

    @field_validator("windows", "history", mode="before")
    @classmethod
    def _windows(cls, value: object) -> object:
        return [_window(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _references(self) -> Plan:
        for name, outcome in self.outcomes.items():
            if outcome.measure is Measure.MEAN_SHARE and not (outcome.value and outcome.base):
                raise ValueError(f"outcomes.{name}: a mean_share names its value and base columns")
        for name, outcome in self.outcomes.items():
            for item in outcome.unit_costs:
                if item not in self.costs.unit_costs:
                    raise ValueError(
                        f"outcomes.{name}.unit_costs: '{item}' is not in costs.unit_costs"
                    )
        for window in self.history:
            if window.to_month >= 0:
                raise ValueError("history windows end before the index month (to_month < 0)")
        return self


class RegisteredPlan:
    """A plan with the exact bytes it was read from: the hash is of those bytes, so a
    changed comment is a changed plan (registration is of the document, not its meaning)."""

    def __init__(self, plan: Plan, text: str, source: str) -> None:
        self.plan = plan
        self.text = text
        self.source = source
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_plan(path: Path | str) -> RegisteredPlan:
    """Read and check a plan; any fault is one line naming the file and the key."""
    path = Path(path)
    plan = load_model(path, Plan, "evaluation plan")
    return RegisteredPlan(plan, read_text(path, "evaluation plan"), str(path))


def check_columns(registered: RegisteredPlan, columns: set[str], sources: set[str]) -> None:
    """Refuse a plan naming what the dataset does not hold: a column it lacks, or a
    source no department sends (a typo that would silently measure nothing)."""
    plan, where = registered.plan, registered.source
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            raise InputError(f"{where}: the dataset has no column '{column}', which every plan needs")
    items: list[tuple[str, Outcome | FamilyHistory]] = [
        (f"outcomes.{name}", outcome) for name, outcome in plan.outcomes.items()
    ] + [(f"family_history.{name}", history) for name, history in plan.family_history.items()]
    for key, item in items:
        if item.events.source not in sources:
            raise InputError(
                f"{where}: {key}.events.source: '{item.events.source}' is not a "
                f"source of the dataset ({', '.join(sorted(sources))})"
            )
        named = [(f"events.where.{c}", c) for c in item.events.where]
        named += [(part, getattr(item, part)) for part in ("value", "base") if getattr(item, part)]
        for part, column in named:
            if column not in columns:
                raise InputError(f"{where}: {key}.{part}: the dataset has no column '{column}'")
