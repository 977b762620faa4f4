"""A research node and the public node trusting each other, reviewers' keys, and tables.

Nodes and keys are made once per session and copied for each test (key derivation is
made cheap: EVALINK_SCRYPT_LOG2N=10). The people are invented; the tables are small
synthetic counts.

The table register and the published-table scan are the disclosure stage's
(evalink.disclosure). Until its front door (`scan_published`, `TableSpec`) lands, the
tests stand in for both, with the same interface: `Tables.add` registers a table as
`evalink table --node` would, and the stand-in scan finds what `scan_published` finds
in a count table (a count under 10, one off the rounding base of 5).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from evalink.node import Node, init_node

PASSPHRASE = "synthetic test passphrase"
KEY_PASSPHRASE = "reviewer test passphrase"
POLICY = Path(__file__).resolve().parents[2] / "examples" / "troubled-families.yaml"
REVIEWERS = ("bob", "carol", "alice", "dave")  # alice is the author; dave is trusted nowhere


@dataclass
class Template:
    root: Path
    keys: Path


def _scrypt_cheap(patch: pytest.MonkeyPatch) -> None:
    patch.setenv("EVALINK_SCRYPT_LOG2N", "10")
    patch.setenv("EVALINK_PASSPHRASE", PASSPHRASE)
    patch.setenv("EVALINK_REVIEWER_PASSPHRASE", KEY_PASSPHRASE)


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    from evalink.release import new_reviewer_key, trust_reviewer

    with pytest.MonkeyPatch.context() as patch:
        _scrypt_cheap(patch)
        root = tmp_path_factory.mktemp("release-template")
        keys = root / "keys"
        for name in REVIEWERS:
            new_reviewer_key(name, keys, KEY_PASSPHRASE, created="2020-06-01T00:00:00")
        for party in ("research", "public"):
            init_node(root / party, party=party, policy_path=POLICY, passphrase=PASSPHRASE)
        for a, b in (("research", "public"), ("public", "research")):
            with Node.open(root / b, PASSPHRASE) as node:
                node.export_public(root / f"{b}.pub.json")
            with Node.open(root / a, PASSPHRASE) as node:
                node.trust(root / f"{b}.pub.json")
        for party in ("research", "public"):
            with Node.open(root / party, PASSPHRASE) as node:
                for name in ("bob", "carol", "alice"):
                    trust_reviewer(node, keys / f"{name}.pub.json")
    return Template(root, keys)


@dataclass
class World:
    root: Path
    research: Path
    public: Path
    keys: Path
    tables: Tables

    def key(self, name: str) -> Path:
        return self.keys / f"{name}.key"

    def pub(self, name: str) -> Path:
        return self.keys / f"{name}.pub.json"

    def open(self, name: str) -> Node:
        return Node.open(self.root / name, PASSPHRASE)


@dataclass
class Tables:
    """The research node's table register, as `evalink table --node` fills it."""

    folder: Path
    entries: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, list[Any]] = field(default_factory=dict)
    released: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, rows: str, *, register: bool = True) -> Path:
        """A count table `area × cohort` written as OUT.csv (and its OUT.checks.csv)."""
        lines = [line.strip() for line in rows.strip().splitlines()]
        text = "\n".join(",".join(cell.strip() for cell in line.split("|")) for line in lines)
        path = self.folder / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        (self.folder / f"{name}.checks.csv").write_text(
            "area,cohort,count,status,rules\nA,attached,3,suppressed_primary,threshold\n",
            encoding="utf-8",
        )
        if register:
            self.register(path)
        return path

    def register(self, path: Path) -> str:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        spec = SimpleNamespace(index=("area",), columns="cohort", values=None,
                               aggfunc="count", unit="family", margins=True)
        self.entries[sha] = SimpleNamespace(
            table_id=sha, name=path.stem, spec=spec, status="prepared",
            summary={"cells": 9, "published": 7, "suppressed_primary": 1,
                     "suppressed_secondary": 1, "rules": {"threshold": 1, "secondary": 1}},
        )
        return sha

    # --- the register's interface ---------------------------------------------------
    def entry(self, table_id: str) -> Any:
        return self.entries.get(table_id)

    def differencing_of(self, table_id: str, *, against: Any = "all") -> list[Any]:
        return list(self.conflicts.get(table_id, []))

    def mark_released(self, table_ids: Any, release_id: str) -> None:
        for table_id in table_ids:
            assert table_id in self.entries
            self.released[table_id] = release_id


def stand_in_scan(published: Any, spec: Any, thresholds: Any) -> list[str]:
    """What scan_published finds in a count table: a count under 10, or off base 5."""
    problems = []
    for column in published.columns:
        if column in spec.index:
            continue
        for count in published[column].dropna():
            if count < 10:
                problems.append(f"column '{column}': a count under the threshold of 10")
            elif count % 5:
                problems.append(f"column '{column}': a count not rounded to 5")
    return problems


def _disclosure_front_door() -> bool:
    try:
        from evalink.disclosure import scan_published  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def world(_template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    import evalink.release.checks as checks

    _scrypt_cheap(monkeypatch)
    root = tmp_path / "nodes"
    for party in ("research", "public"):
        shutil.copytree(_template.root / party, root / party, symlinks=True)
    tables = Tables(tmp_path / "outputs")
    monkeypatch.setattr(checks, "open_register", lambda node: tables)
    if not _disclosure_front_door():
        def rescan(content: bytes, spec: dict, policy: Any, party: str = "public") -> list[str]:
            import io

            import pandas as pd

            frame = pd.read_csv(io.BytesIO(content), dtype={c: str for c in spec["index"]})
            return stand_in_scan(frame, SimpleNamespace(index=tuple(spec["index"])), None)

        monkeypatch.setattr(checks, "rescan", rescan)
    return World(root, root / "research", root / "public", _template.keys, tables)


SAFE_BY_AREA = """
    area  | attached | waiting | Total
    A     | 25       | 15      | 40
    B     | 30       |         | 45
    Total | 55       | 30      | 85
"""
SAFE_BY_YEAR = """
    area  | attached | waiting | Total
    A     | 20       | 10      | 30
    Total | 20       | 10      | 30
"""


@pytest.fixture
def cli():
    """`evalink ...` in-process; output is stdout and stderr together."""
    runner = CliRunner()

    def run(*args: object):
        return runner.invoke(app_(), [str(a) for a in args])

    return run


def app_():
    from evalink.cli import app

    return app


def one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]
