"""`evalink demo`: the whole flow on synthetic data, growing as each stage lands."""

from __future__ import annotations

from pathlib import Path

import typer

from evalink.cli.app import app, console


@app.command("demo")
def demo(
    policy_file: Path = typer.Option(
        Path("examples/troubled-families.yaml"), "--policy", help="The policy to run under."
    ),
    workdir: Path = typer.Option(Path("demo-out"), "--workdir", help="Where outputs go."),
) -> None:
    """Run the demonstration: load the policy, publish its notice and ROPA."""
    from evalink.demo import run_demo

    run_demo(policy_file, workdir, console)
