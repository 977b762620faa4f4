"""`evalink synth`: write a synthetic world with known truth."""

from __future__ import annotations

from pathlib import Path

import typer

from evalink.cli.app import app, console


@app.command()
def synth(
    families: int = typer.Option(1000, "--families", help="Families in the council's area."),
    population: int = typer.Option(
        100_000,
        "--population",
        help="People the departments hold (the families' members included).",
    ),
    seed: int = typer.Option(0, "--seed", help="Same seed, same world, byte for byte."),
    out: Path = typer.Option(..., "--out", help="Directory to write the world into."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it is not empty."),
    effect: list[str] = typer.Option(
        None, "--effect", help="Planted effect NAME=RATIO (repeatable), e.g. adult_custody=0.8."
    ),
    effects_file: Path = typer.Option(None, "--effects", help="JSON file of planted effects."),
    south_asian_share: float = typer.Option(
        None,
        "--south-asian-share",
        help="Share of council families with Sikh or Muslim naming (default 0.22).",
    ),
) -> None:
    """Generate a council, three departments and the truth (see docs/synthetic-data.md)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from evalink.synth import generate
    from evalink.synth.effects import parse_flag
    from evalink.synth.identities import DEFAULT_SOUTH_ASIAN_SHARE
    from evalink.synth.world import STEPS

    overrides = parse_flag(effect)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("synth", total=len(STEPS))
        seen: list[str] = []

        def step(name: str) -> None:
            if seen:
                bar.advance(task)
            seen.append(name)
            bar.update(task, description=name)

        summary = generate(
            out,
            families=families,
            population=population,
            seed=seed,
            effects=overrides,
            effects_file=effects_file,
            south_asian_share=DEFAULT_SOUTH_ASIAN_SHARE
            if south_asian_share is None
            else south_asian_share,
            force=force,
            progress=step,
        )
    console.print(
        f"wrote {summary.out_dir}: {summary.families} families ({summary.council_people} people), "
        f"population {summary.population}; eligible {summary.eligible_families}, attached "
        f"{summary.attached_families}, waiting {summary.waiting_families}; {summary.seconds} s",
        highlight=False,
    )
