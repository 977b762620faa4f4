"""An illustrative unit-cost table for the cost-benefit stage.

The figures are round numbers of the right order for England in the late 2010s, for
demonstration only; every row says so.
"""

from __future__ import annotations

import polars as pl

UNIT_COSTS: tuple[tuple[str, str, float], ...] = (
    ("looked_after_child", "per child per year", 55000.0),
    ("custodial_sentence", "per prisoner per year", 40000.0),
    ("juvenile_custody", "per young person per year", 90000.0),
    ("conviction_court_case", "per case", 3000.0),
    ("caution", "per caution", 400.0),
    ("police_incident_asb", "per incident", 700.0),
    ("police_incident_crime", "per incident", 1500.0),
    ("domestic_abuse_incident", "per incident", 2500.0),
    ("jsa_claim", "per claimant per week", 73.10),
    ("esa_claim", "per claimant per week", 110.0),
    ("is_claim", "per claimant per week", 73.10),
    ("uc_claim", "per claimant per week", 80.0),
    ("child_in_need_episode", "per episode", 1800.0),
    ("child_protection_plan", "per child per year", 4500.0),
    ("fixed_period_exclusion", "per exclusion", 300.0),
    ("permanent_exclusion", "per exclusion", 12000.0),
    ("mental_health_service_contact", "per flag", 1200.0),
    ("substance_misuse_treatment", "per flag", 2500.0),
    ("keyworker_family", "per family worked with", 3500.0),
)


def unit_cost_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item": [r[0] for r in UNIT_COSTS],
            "unit": [r[1] for r in UNIT_COSTS],
            "cost_gbp": [r[2] for r in UNIT_COSTS],
            "price_year": ["2016/17"] * len(UNIT_COSTS),
            "illustrative": [True] * len(UNIT_COSTS),
            "note": ["illustrative figure for synthetic data; not an official unit cost"] * len(UNIT_COSTS),
        }
    )
