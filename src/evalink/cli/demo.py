"""`evalink demo`: the whole flow of the notice on a synthetic world."""

from __future__ import annotations

from pathlib import Path

import typer

from evalink.cli.app import app, console
from evalink.examples import example


@app.command("demo")
def demo(
    workdir: Path = typer.Option(
        Path("demo-out"), "--workdir", help="Where the world, nodes and documents go."
    ),
    families: int = typer.Option(1000, "--families", help="Families in the synthetic council."),
    population: int = typer.Option(
        30_000, "--population", help="People the departments hold records on."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic world."),
    policy_file: Path = typer.Option(
        example("troubled-families.yaml"), "--policy", help="The policy to run under."
    ),
) -> None:
    """Run everything: synth → nodes → identify → share → dispatch → match → assemble →
    research receives; then check each promise the run can show kept."""
    from evalink.demo import run_demo

    run = run_demo(
        policy_file, workdir, console, families=families, population=population, seed=seed
    )
    if not run.ok:
        raise typer.Exit(1)
