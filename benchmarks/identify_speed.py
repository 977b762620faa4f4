"""Identify speed and peak memory at council scale (issue 6).

    .venv/bin/python benchmarks/identify_speed.py --families 30000 --population 300000

30,000 families give about 1,000,000 local source records (about 122,000 people in the
council's families, within a synthetic population of 300,000). The world is generated
first, in its own process, so the figures are identification's alone.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_identify(world: Path) -> None:
    from evalink.identify import identify

    started = time.perf_counter()
    result = identify(
        world / "council" / "sources",
        REPO / "examples" / "mapping-synth.yaml",
        REPO / "examples" / "rules-troubled-families-2015.yaml",
        date(2015, 3, 31),
    )
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"identify: {wall:.1f} s wall, peak RSS {peak:.0f} MiB; stages {result.seconds}; {result.summary()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", type=int, default=30_000)
    parser.add_argument("--population", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--world", type=Path, help="Use this world instead of generating one.")
    args = parser.parse_args()
    if args.world:
        run_identify(args.world)
        return
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "evalink.cli",
                "synth",
                "--families",
                str(args.families),
                "--population",
                str(args.population),
                "--seed",
                str(args.seed),
                "--out",
                str(world),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run([sys.executable, __file__, "--world", str(world)], check=True)


if __name__ == "__main__":
    main()
