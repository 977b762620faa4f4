"""A small analysis plan for the spec tests, written as a user would write one."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_PLAN = """\
project: spec
version: 1
title: A spec test's plan
windows:
  - [7, 12]
  - [1, 24]
history:
  - [-12, -1]
covariates: [headline_count]
estimators:
  primary: {method: propensity_weighting, trim: 0.001}
  staggered: null
  bootstrap: 2000
  seed: 3
costs:
  price_year: 2016/17
  programme_cost_per_family: 1000
  unit_costs:
    looked_after_episode: {fiscal: 50000, unit: per episode}
outcomes:
  child_looked_after:
    label: Children looked after
    events: {source: dfe, where: {outcome: [LAC]}}
    population: {ages: [0, 17]}
    measure: any_event
    unit_costs: [looked_after_episode]
"""


@pytest.fixture
def write_plan(tmp_path: Path):
    """Write a plan (the small one, or it with `replace`d text) and return its path."""

    def write(text: str = SMALL_PLAN, name: str = "plan.yaml", **replace: str) -> Path:
        for old, new in replace.items():
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def small_plan():
    """The small plan, loaded once (for property tests, which cannot take a
    function-scoped fixture)."""
    import functools
    import tempfile

    from evalink.evaluate.plan import load_plan

    @functools.cache
    def load():
        folder = Path(tempfile.mkdtemp(prefix="evalink-plan-"))
        (folder / "plan.yaml").write_text(SMALL_PLAN, encoding="utf-8")
        return load_plan(folder / "plan.yaml").plan

    return load()
