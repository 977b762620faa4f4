"""Fixtures shared by every stage's tests."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from evalink.cli import app
from evalink.demo import DEPARTMENTS, DemoRun, Stage, run_demo

REPO = Path(__file__).resolve().parents[1]
# The day the tests stand on unless one says otherwise: inside the programme's own
# timeline (after the outcome window, before the linker's end-of-2022 destruction).
# On the real date every package reaching the linker would be due on arrival.
PROGRAMME_DAY = "2020-06-01"


# Node key derivation made cheap for every test (scrypt at 2^10, not the default 2^17):
# the suite opens nodes thousands of times and CI has two cores. The default's strength
# is tested on its own (tests/node/test_store.py), with this setting removed.
CHEAP_KEYS = "10"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("EVALINK_TODAY", PROGRAMME_DAY)
    os.environ.setdefault("EVALINK_SCRYPT_LOG2N", CHEAP_KEYS)


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


PASSPHRASE = "synthetic test passphrase"
CHEAP = {"EVALINK_SCRYPT_LOG2N": CHEAP_KEYS, "EVALINK_PASSPHRASE": PASSPHRASE}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables for a session-scoped fixture (monkeypatch is per test)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class DemoTimeline:
    """`evalink demo`'s whole run on a small world, once per session, with a copy of the
    nodes after the stages the tests stand on: `held` (research has received its
    dataset; nothing evaluated, published or due yet), `released` (the airlock has
    published), `month` (every department has destroyed what it held) and `end`."""

    run: DemoRun
    printed: str
    copies: dict[str, Path]
    last_day: date


# The stage after which each copy is taken. Only `held` keeps the world (its truth).
DEMO_COPIES = {
    "assemble": "held",
    "release": "released",
    f"{DEPARTMENTS[-1]}-destroys": "month",
    "checks-at-the-end": "end",
}


@pytest.fixture(scope="session")
def demo_timeline(tmp_path_factory: pytest.TempPathFactory) -> DemoTimeline:
    root = tmp_path_factory.mktemp("demo")
    work = root / "work"
    copies: dict[str, Path] = {}

    def after(stage: Stage) -> None:
        name = DEMO_COPIES.get(stage.step)
        if name is not None:
            ignore = None if name == "held" else shutil.ignore_patterns("world")
            copies[name] = shutil.copytree(work, root / name, symlinks=True, ignore=ignore)

    printed = io.StringIO()
    with environment(CHEAP):
        run = run_demo(EXAMPLE_POLICY, work, Console(file=printed, width=200),
                       families=200, population=5000, seed=5, after=after)
    last_day = next(s.on for s in run.stages if s.step == "checks-at-the-end")
    return DemoTimeline(run, printed.getvalue(), copies, last_day)
