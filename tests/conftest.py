"""Fixtures shared by every stage's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evalink.cli import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_POLICY = REPO / "examples" / "troubled-families.yaml"


@pytest.fixture(scope="session")
def example_policy_path() -> Path:
    return EXAMPLE_POLICY


@pytest.fixture(scope="session")
def example_policy():
    from evalink.policy import load_policy

    return load_policy(EXAMPLE_POLICY)


@pytest.fixture
def evalink():
    """Run the `evalink` command in-process: evalink("policy", "check", path)."""
    runner = CliRunner()

    def run(*args: str | Path, input: str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return run
