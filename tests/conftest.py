"""Fixtures shared by every stage's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evalink.cli import app

REPO = Path(__file__).resolve().parents[1]
# The day the tests stand on unless one says otherwise: inside the programme's own
# timeline (after the outcome window, before the linker's end-of-2022 destruction).
# On the real date every package reaching the linker would be due on arrival.
PROGRAMME_DAY = "2020-06-01"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("EVALINK_TODAY", PROGRAMME_DAY)
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


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A small synthetic world shared by the stage tests that need whole-flow data."""
    from evalink.synth import generate

    out = tmp_path_factory.mktemp("world") / "world"
    generate(out, families=150, population=4000, seed=11)
    return out


@pytest.fixture
def cheap_nodes(monkeypatch):
    """Node key derivation made cheap for tests; the default cost stays strong."""
    monkeypatch.setenv("EVALINK_SCRYPT_LOG2N", "10")
    monkeypatch.setenv("EVALINK_PASSPHRASE", "synthetic test passphrase")
    return "synthetic test passphrase"
