"""`evalink demo`: the whole flow of the notice on a synthetic world, on the programme's
timeline, ending with every promise checked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from evalink.cli.app import app, console
from evalink.cli.options import DateOption
from evalink.examples import example


@app.command("demo")
def demo(
    workdir: Path = typer.Option(
        Path("demo-out"), "--workdir", help="Where the world, nodes and documents go."
    ),
    # 10,000 families: about 500 eligible, enough for the effect table to mean something
    # (JSA's interval a factor of about 2 wide, attendance's 1.4), in under 3 minutes here.
    families: int = typer.Option(10_000, "--families", help="Families in the synthetic council."),
    population: int = typer.Option(
        120_000, "--population", help="People the departments hold records on."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic world."),
    policy_file: Path = typer.Option(
        example("troubled-families.yaml"), "--policy", help="The policy to run under."
    ),
    until: date | None = DateOption(
        None,
        "--until",
        help="Stop the timeline on this day (at the earliest research's receipt, 2020-06-13 "
        "with the synthetic examples) and check the promises then.",
    ),
    effect: list[str] = typer.Option(
        None, "--effect", metavar="NAME=RATIO",
        help="Plant an effect other than the default (repeatable), as `evalink synth` does: "
        "e.g. --effect child_looked_after=0.5.",
    ),
    effects_file: Path | None = typer.Option(
        None, "--effects", help="JSON file of planted effects, as `evalink synth --effects`."
    ),
) -> None:
    """Run the programme's timeline: synth → nodes → identify (2015) → share, dispatch,
    match, assemble, evaluate (2020) → each party's destruction on its rule's dates; print the day
    of each stage, then every promise kept, BROKEN or not checked, with the evidence.
    Exit code 1 if any promise is BROKEN. `--today` does not apply: the demo sets its own
    days."""
    from evalink.demo import run_demo
    from evalink.synth.effects import parse_flag

    run = run_demo(
        policy_file,
        workdir,
        console,
        families=families,
        population=population,
        seed=seed,
        until=until,
        effects=parse_flag(effect),
        effects_file=effects_file,
    )
    if not run.ok:
        raise typer.Exit(1)
