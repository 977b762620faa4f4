"""Research-dataset rows for spec tests, built the way the linker releases them: one
row per outcome record, the person's attributes on each, one empty row for a person
with none."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

COLUMNS = [
    "pseudonym", "family_pseudonym", "cohort", "index_period", "year_of_birth", "sex",
    "local_authority", "family_size", "headlines", "help_received", "keyworker_cost",
    "source", "outcome", "outcome_detail", "outcome_start_month", "outcome_end_month",
    "outcome_value", "outcome_base", "match_probability",
]


@dataclass
class Person:
    pseudonym: str
    cohort: str = "attached"
    family: str | None = None  # default: a family of their own
    headlines: str | None = "2"
    year_of_birth: str | None = "2008"
    index_period: str | None = "2016-Q1"
    keyworker_cost: str | None = None
    events: list[dict[str, object]] = field(default_factory=list)

    def rows(self) -> list[dict[str, object]]:
        base = {
            "pseudonym": self.pseudonym,
            "family_pseudonym": self.family or f"family-of-{self.pseudonym}",
            "cohort": self.cohort, "index_period": self.index_period,
            "year_of_birth": self.year_of_birth, "sex": "F", "local_authority": "Sandwell",
            "family_size": "3", "headlines": self.headlines, "help_received": None,
            "keyworker_cost": self.keyworker_cost,
        }
        if not self.events:
            return [{**base, "source": "dfe", "match_probability": "1.0"}]
        return [{**base, "source": "dfe", "match_probability": "1.0", **event} for event in self.events]


def lac(months: str) -> dict[str, object]:
    """A looked-after episode starting `months` after the index date ('9' or '7..12')."""
    return {"outcome": "LAC", "outcome_start_month": months}


def dataset(people: list[Person]) -> pd.DataFrame:
    rows = [row for person in people for row in person.rows()]
    return pd.DataFrame.from_records(rows).reindex(columns=COLUMNS)


def stratum(prefix: str, cohort: str, headlines: str, persons: int, with_event: int) -> list[Person]:
    """`persons` one-person families of one cohort and headline count, the first
    `with_event` of them looked after in month 9."""
    return [
        Person(f"{prefix}{i}", cohort=cohort, headlines=headlines,
               events=[lac("9")] if i < with_event else [])
        for i in range(persons)
    ]
