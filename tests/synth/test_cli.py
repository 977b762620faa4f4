"""`evalink synth` on the command line: it writes a world, refuses bad arguments (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evalink.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["synth", *args])


def test_synth_writes_a_world_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = _run("--families", "50", "--population", "2000", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "50 families" in result.output
    assert (out / "truth/families.parquet").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--families", "-1", "--population", "2000"], "--families"),
        (["--families", "0", "--population", "2000"], "--families"),
        (["--families", "10", "--population", "-5"], "--population"),
        (["--families", "100", "--population", "50"], "smaller than"),
        (["--families", "10", "--population", "2000", "--seed", "-1"], "--seed"),
        (["--families", "10", "--population", "2000", "--effect", "adult_custody"], "NAME=RATIO"),
        (["--families", "10", "--population", "2000", "--effect", "happiness=2"], "unknown effect"),
        (["--families", "10", "--population", "2000", "--south-asian-share", "1.5"], "south-asian-share"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run(*args, "--out", str(tmp_path / "world"))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "world").exists()


def test_a_non_empty_out_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "world"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = _run("--families", "10", "--population", "500", "--out", str(out))
    assert result.exit_code == 2 and "--force" in result.output
    assert (out / "keep.txt").read_text() == "mine"
    result = _run("--families", "10", "--population", "500", "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists() and (out / "truth").is_dir()


def test_an_unwritable_place_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = _run("--families", "10", "--population", "500", "--out", str(blocker / "world"))
    assert result.exit_code == 2, result.output
    result = _run("--families", "10", "--population", "500", "--out", str(blocker))
    assert result.exit_code == 2, result.output


def test_effects_given_on_the_command_line_are_planted(tmp_path: Path) -> None:
    file = tmp_path / "effects.json"
    file.write_text(json.dumps({"jsa_claim": 0.5}))
    out = tmp_path / "world"
    result = _run("--families", "10", "--population", "500", "--out", str(out),
                  "--effect", "adult_custody=0.9", "--effects", str(file))  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads((out / "truth/effects.json").read_text())
    assert written["effects"]["adult_custody"]["windows"][0]["ratio"] == 0.9
    assert written["effects"]["jsa_claim"]["windows"][0]["ratio"] == 0.5
    assert sorted(written["overridden"]) == ["adult_custody", "jsa_claim"]


def test_south_asian_share_changes_the_council_naming_mix(tmp_path: Path) -> None:
    import polars as pl

    out = tmp_path / "world"
    result = _run("--families", "2000", "--population", "9000", "--out", str(out), "--south-asian-share", "0.6")
    assert result.exit_code == 0, result.output
    families = pl.read_parquet(out / "truth/families.parquet")
    share = families["naming_group"].is_in(["sikh", "muslim"]).mean()
    assert share == pytest.approx(0.6, abs=0.04)
