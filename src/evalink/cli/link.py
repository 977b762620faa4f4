"""`evalink link`: link a cohort to a population (the command contract benchmarks call)."""

from __future__ import annotations

from pathlib import Path

import typer

from evalink.cli.app import app, console, err_console, spinner
from evalink.cli.options import Engine


@app.command()
def link(
    left: Path = typer.Option(
        ..., "--left", help="Left records (Parquet or CSV), e.g. the cohort."
    ),
    right: Path = typer.Option(
        ..., "--right", help="Right records (Parquet or CSV), e.g. a population."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Links (Parquet): left_id, right_id, match_probability."
    ),
    engine: Engine = typer.Option(
        Engine.duckdb, "--engine", help="duckdb (embedded) or spark (local or cluster)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Directory for the HTML quality report and clerical-review CSV."
    ),
    min_precision: float = typer.Option(
        0.995,
        "--min-precision",
        min=0.5,
        max=1.0,
        help="Threshold: the lowest that keeps estimated precision at or above this.",
    ),
) -> None:
    """Link two files of person records, one to one, at a chosen estimated precision."""
    from evalink.link import link as run_link
    from evalink.link import write_links

    with spinner("linking") as phase:
        result = run_link(
            left,
            right,
            engine=engine.value,
            min_precision=min_precision,
            with_report=report is not None,
            progress=phase,
        )
        write_links(result, out)
        if report is not None:
            from evalink.link.report import write_report

            phase("writing the quality report")
            write_report(result, report)

    for note in result.warnings():
        err_console.print(f"warning: {note}", markup=False, highlight=False)
    choice = result.threshold
    console.print(
        f"{result.links.height} links ({result.match_rate:.1%} of {result.left_records} left records) "
        f"at threshold {choice.threshold:.3f}; estimated precision {choice.estimated_precision:.4f}, "
        f"estimated recall {choice.estimated_recall:.4f} → {out}",
        markup=False,
        highlight=False,
    )
