"""The README's whole flow, run exactly as written (see tests/flow/readme.py)."""

from __future__ import annotations

import polars as pl

from tests.flow.conftest import ReadmeRun


def test_the_readme_flow_runs_as_written_with_all_three_departments(readme_run: ReadmeRun):
    commands = [" ".join(argv[:1]) for argv in readme_run.block.commands]
    assert commands.count("match") == 3
    research = pl.read_parquet(readme_run.work / "research.parquet")
    assert set(research["source"].drop_nulls()) == {"dwp", "moj", "dfe"}
    assert research["pseudonym"].n_unique() > 0


def test_the_readme_sets_a_passphrase_long_enough_for_a_node(readme_run: ReadmeRun):
    assert len(readme_run.block.environment["EVALINK_PASSPHRASE"]) >= 12
