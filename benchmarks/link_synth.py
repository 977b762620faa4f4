"""evalink link against a plain Splink configuration on `evalink synth` worlds.

The task: every person the council holds a record of (one record each, as in the
cohort task of `evalink.synth.linktask`, but for all families rather than only the
cohort so the left side reaches 100,000) linked to a department's person file. The
truth comes from the world's `truth/persons.parquet`; every left record's naming group
is known, so accuracy is reported per group as well.

Both engines are run as separate processes, one after the other, on the same files;
wall time and peak memory (max RSS) are measured per process.

    .venv/bin/python benchmarks/link_synth.py --families 25000 --population 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["record_id", "forename", "surname", "dob", "sex", "postcode", "address", "nino"]


def build_task(
    world: Path, out: Path, department: str = "dwp", left_size: int | None = None
) -> dict[str, int]:
    truth = pl.read_parquet(world / "truth" / "persons.parquet")
    frames = []
    for path in sorted((world / "council" / "sources").glob("*.parquet")):
        frames.append(
            pl.read_parquet(path, columns=COLUMNS).with_columns(
                pl.lit(f"council/{path.stem}").alias("source"),
                pl.lit(0 if path.stem == "programme" else 1).alias("priority"),
            )
        )
    council = pl.concat(frames)
    council_truth = truth.filter(pl.col("source").str.starts_with("council/")).select(
        "source", "record_id", "person_id", "naming_group"
    )
    left_all = (
        council.join(council_truth, on=["source", "record_id"], how="inner")
        .sort(["person_id", "priority", "source", "record_id"])
        .unique(subset="person_id", keep="first", maintain_order=True)
        # Record ids are unique within a source; prefix them so they are across sources.
        .with_columns(
            (pl.col("source").str.replace("council/", "") + ":" + pl.col("record_id")).alias(
                "record_id"
            )
        )
    )
    if left_size is not None and left_size < left_all.height:
        # A fixed-size cohort drawn at random (seeded), e.g. exactly 1,000,000 at 10M.
        left_all = left_all.sort("record_id").sample(n=left_size, seed=5).sort("record_id")
    right_truth = truth.filter(pl.col("source") == f"departments/{department}/persons").select(
        "person_id", pl.col("record_id").alias("right_id")
    )
    groups = left_all.select(pl.col("record_id").alias("left_id"), "person_id", "naming_group")
    pairs = groups.join(right_truth, on="person_id", how="left").drop("person_id")
    out.mkdir(parents=True, exist_ok=True)
    left_all.select(COLUMNS).sort("record_id").write_parquet(out / "left.parquet")
    pl.read_parquet(world / "departments" / department / "persons.parquet").write_parquet(
        out / "right.parquet"
    )
    pairs.write_parquet(out / "truth.parquet")  # left_id, naming_group, right_id (null: none)
    return {"left": left_all.height, "truth_pairs": int(pairs["right_id"].is_not_null().sum())}


# Runs COMMAND as a child and prints its own peak RSS and CPU seconds: RUSAGE_CHILDREN
# of this wrapper covers that one command only, not the runs before it.
_WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(r.ru_maxrss, r.ru_utime + r.ru_stime, file=sys.stderr)"
)


def run_measured(command: list[str]) -> dict[str, float]:
    """Wall and CPU seconds, peak resident memory (GB) and the machine's one-minute
    load average before and after one command (the machine may be shared)."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        check=True,
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    peak_kb, cpu = done.stderr.strip().splitlines()[-1].split()
    return {
        "wall_s": wall,
        "cpu_s": float(cpu),
        "peak_gb": int(peak_kb) / 1024 / 1024,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def accuracy(links: pl.DataFrame, truth: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 overall and per naming group of the left record."""
    true_pairs = truth.filter(pl.col("right_id").is_not_null())
    scored = links.join(truth.select("left_id", "naming_group"), on="left_id", how="left").join(
        true_pairs.select("left_id", "right_id").with_columns(pl.lit(True).alias("correct")),
        on=["left_id", "right_id"],
        how="left",
    )
    result = {}
    for group in ["all", *sorted(truth["naming_group"].unique().to_list())]:
        found = scored if group == "all" else scored.filter(pl.col("naming_group") == group)
        expected = (
            true_pairs if group == "all" else true_pairs.filter(pl.col("naming_group") == group)
        )
        tp = int(found["correct"].fill_null(False).sum())
        precision = tp / found.height if found.height else 1.0
        recall = tp / expected.height if expected.height else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[group] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "links": found.height,
            "matches": expected.height,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--families", type=int, default=25000)
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/evalink-link-bench"))
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument(
        "--left", type=int, default=None, help="sample the left side to this many records"
    )
    args = parser.parse_args()

    world = args.work / f"world-{args.families}-{args.population}-{args.seed}"
    if not (world / "truth" / "persons.parquet").is_file():
        subprocess.run(
            [sys.executable, "-m", "evalink.cli", "synth", "--families", str(args.families),
             "--population", str(args.population), "--seed", str(args.seed), "--out", str(world), "--force"],
            check=True,
        )  # fmt: skip
    suffix = f"-left{args.left}" if args.left else ""
    task = args.work / f"task-{args.families}-{args.population}-{args.seed}{suffix}"
    sizes = build_task(world, task, left_size=args.left)
    truth = pl.read_parquet(task / "truth.parquet")
    left, right = task / "left.parquet", task / "right.parquet"
    right_rows = pl.scan_parquet(right).select(pl.len()).collect().item()
    print(f"task: {sizes['left']} left × {right_rows} right, {sizes['truth_pairs']} true pairs")

    runs = {}
    out = task / "links-evalink.parquet"
    measured = run_measured(
        [str(REPO / ".venv" / "bin" / "evalink"), "link", "--left", str(left), "--right", str(right),
         "--out", str(out), "--engine", args.engine]
    )  # fmt: skip
    runs["evalink"] = {**measured, **accuracy(pl.read_parquet(out), truth)}
    if not args.skip_plain:
        out = task / "links-plain.parquet"
        measured = run_measured(
            [
                sys.executable,
                str(REPO / "benchmarks" / "link_plain_splink.py"),
                str(left),
                str(right),
                str(out),
            ]
        )
        runs["plain splink"] = {**measured, **accuracy(pl.read_parquet(out), truth)}

    for name, run in runs.items():
        overall = run["all"]
        groups = {g: v for g, v in run.items() if isinstance(v, dict) and g != "all"}
        f1s = [v["f1"] for v in groups.values()]
        print(
            f"{name}: precision {overall['precision']:.4f} recall {overall['recall']:.4f} F1 {overall['f1']:.4f}"
            f" | {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, peak {run['peak_gb']:.2f} GB"
            f" (max RSS), load {run['load_before']:.2f}→{run['load_after']:.2f}"
            f" | F1 by naming group: "
            + ", ".join(f"{g} {v['f1']:.4f}" for g, v in groups.items())
            + f" (gap {max(f1s) - min(f1s):.4f})"
        )
    (task / "results.json").write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
