"""Benchmark: how long `evalink synth` takes and how much memory it needs.

    .venv/bin/python benchmarks/synth_scale.py --families 10000 --population 1000000
    .venv/bin/python benchmarks/synth_scale.py --families 400000 --population 10000000

Targets (issue 4): 10,000 families / 1,000,000 people in under 60 s on 2 cores;
400,000 families / 10,000,000 people under 16 GB peak memory. Prints wall time, CPU
time and peak RSS (ru_maxrss of this process), plus per-step times. Results are
recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from evalink.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary directory, removed after")
    args = parser.parse_args()

    scratch = None
    out = args.out
    if out is None:
        scratch = Path(tempfile.mkdtemp(prefix="synth-bench-"))
        out = scratch / "world"
    started = time.perf_counter()
    marks: list[tuple[str, float, float]] = []
    summary = generate(
        out,
        families=args.families,
        population=args.population,
        seed=args.seed,
        force=True,
        # ru_maxrss is the peak so far: read at the start of each step, it says which
        # earlier step set the peak.
        progress=lambda name: marks.append(
            (name, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2)
        ),
    )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"families {args.families}, population {args.population}, seed {args.seed}")
    print(f"eligible {summary.eligible_families}, attached {summary.attached_families}, waiting {summary.waiting_families}")
    end_peak = usage.ru_maxrss / 1024**2
    for (name, at, _), nxt in zip(marks, [*marks[1:], ("end", wall, end_peak)], strict=True):
        print(f"  {name:18s} {nxt[1] - at:7.1f} s   peak so far at its end {nxt[2]:5.2f} GiB")
    print(f"wall {wall:.1f} s, cpu {usage.ru_utime + usage.ru_stime:.1f} s, peak RSS {usage.ru_maxrss / 1024**2:.2f} GiB")
    print(f"output {size / 1024**2:.0f} MiB in {sum(1 for _ in out.rglob('*.parquet'))} Parquet files")
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
