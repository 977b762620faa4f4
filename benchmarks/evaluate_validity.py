"""Does `evalink evaluate` find what `evalink synth` planted? (issue 15)

Each seed runs the whole flow as the demo does — synth → identify → share → match
(three departments) → assemble (de-identified, attacked) → the research node — and
then `evaluate` on the research node alone, under the example plan. The estimates are
scored against the planted effects read from the world's truth (the evaluation itself
never sees it): coverage of the 95% intervals, the mean error of the log ratio, the
same for the unadjusted comparison, and, with every effect set to 1, how often an
interval excludes 1.

    .venv/bin/python benchmarks/evaluate_validity.py --families 10000 --population 120000 \\
        --seeds 20 --workdir /tmp/validity [--effect child_looked_after=0.5 ...] [--null] [--policy P]
    .venv/bin/python benchmarks/evaluate_validity.py --workdir /tmp/validity --score-only

Each seed's research node is kept under WORKDIR/seed-N/research (the rest of the flow is
removed to save space), so `--score-only` re-evaluates them without building again.
Writes WORKDIR/estimates.csv (every outcome, window, method and seed) and prints the
summary tables in Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from evalink.clock import clock_on
from evalink.demo import DEPARTMENTS, Programme
from evalink.evaluate import evaluate, load_plan, registrations
from evalink.evaluate.outputs import tables
from evalink.examples import example
from evalink.node import Node
from evalink.synth.effects import parse_flag, resolve

PASSPHRASE = "synthetic test passphrase"
RESEARCH_DAY = date(2020, 6, 20)  # after the demo's research receipt, before any destruction
ERROR_OUTCOMES = ("child_looked_after", "juvenile_conviction", "jsa_claim",
                  "child_protection_plan", "school_attendance")


def planted_ratio(windows: list[dict], from_month: int, to_month: int) -> float:
    """The planted ratio over a window of months since the index date, month m being
    the m-th month after it (continuous time m−1 to m): the mean over its months."""
    ratios = []
    for month in range(from_month, to_month + 1):
        middle = month - 0.5
        ratio = 1.0
        for w in windows:
            if middle >= w["from_month"] and (w["to_month"] is None or middle < w["to_month"]):
                ratio = w["ratio"]
        ratios.append(ratio)
    return float(np.mean(ratios))


def build(seed_dir: Path, families: int, population: int, seed: int,
          effects: dict[str, float], policy: Path) -> float:
    started = time.perf_counter()
    programme = Programme(policy, seed_dir, PASSPHRASE, seed, effects=effects or None)
    programme.synth(families, population)
    programme.nodes()
    programme.identify()
    programme.share()
    programme.dispatch()
    for department in DEPARTMENTS:
        programme.match(department)
    programme.assemble()
    planted = json.loads((seed_dir / "world" / "truth" / "effects.json").read_text())
    (seed_dir / "planted.json").write_text(json.dumps(planted["effects"], indent=1))
    for child in seed_dir.iterdir():
        if child.is_dir() and child.name not in ("research",):
            shutil.rmtree(child)
    return time.perf_counter() - started


def score(seed_dir: Path, seed: int) -> tuple[pd.DataFrame, float]:
    registered = _plan_for(seed_dir)
    # Each scoring evaluates a copy of the node as it came from the flow: the plan is
    # registered there, and a re-score after a change to the plan must not be refused.
    copy = seed_dir / "evaluating"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(seed_dir / "research", copy)
    started = time.perf_counter()
    try:
        with Node.open(copy, PASSPHRASE, clock=clock_on(RESEARCH_DAY), retention=False) as node:
            result = evaluate(node, registered)
    finally:
        seconds = time.perf_counter() - started
        shutil.rmtree(copy, ignore_errors=True)
    effects = tables(result)["effects.csv"]
    planted = json.loads((seed_dir / "planted.json").read_text())
    outcomes = registered.plan.outcomes
    effects["planted"] = [
        planted_ratio(planted[outcomes[o].planted_effect]["windows"], a, b)
        if outcomes[o].planted_effect in planted else np.nan
        for o, a, b in zip(effects["outcome"], effects["window_from_month"], effects["window_to_month"], strict=True)
    ]
    effects["seed"] = seed
    return effects, seconds


def _plan_for(seed_dir: Path):
    """The example plan; at a node where an earlier run of this benchmark registered
    another plan (before a change to it), the same plan as the next version."""
    registered = load_plan(example("evaluation-plan.yaml"))
    with Node.open(seed_dir / "research", PASSPHRASE, clock=clock_on(RESEARCH_DAY),
                   retention=False) as node:
        project = str(node.package_notes("research_dataset").get("project"))
        earlier = registrations(node, project)
    if not earlier or any(r.sha256 == registered.sha256 for r in earlier):
        return registered
    text = registered.text.replace("version: 1\n", f"version: {max(r.version for r in earlier) + 1}\n", 1)
    path = seed_dir / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return load_plan(path)


def summary(estimates: pd.DataFrame, null: bool) -> str:
    e = estimates.copy()
    e["has"] = e["estimate"].notna()
    e["covered"] = (e["ci_low"] <= e["planted"]) & (e["planted"] <= e["ci_high"])
    e["excludes_one"] = (e["ci_low"] > 1) | (e["ci_high"] < 1)
    e["log_error"] = np.log(e["estimate"]) - np.log(e["planted"])
    rows = []
    for (outcome, a, b, method), g in e.groupby(
            ["outcome", "window_from_month", "window_to_month", "method"], sort=False):
        est = g[g["has"]]
        with_ci = est[est["ci_low"].notna()]
        rows.append({
            "outcome": outcome, "months": f"{a}-{b}", "method": method,
            "seeds estimated": f"{len(est)}/{len(g)}",
            "planted": f"{g['planted'].iloc[0]:.3f}",
            "mean estimate": f"{est['estimate'].mean():.3f}" if len(est) else "—",
            "mean log error": f"{est['log_error'].mean():+.3f}" if len(est) else "—",
            "coverage": f"{with_ci['covered'].mean():.0%}" if len(with_ci) else "—",
            "excludes 1": f"{with_ci['excludes_one'].mean():.0%}" if len(with_ci) else "—",
        })
    table = pd.DataFrame(rows)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    primary = e[(e["method"] == "propensity_weighting") & e["ci_low"].notna()]
    extra = [f"\nprimary: {len(primary)} outcome-window-seed estimates with intervals; "
             f"coverage {primary['covered'].mean():.1%}; intervals excluding 1: "
             f"{primary['excludes_one'].mean():.1%}" + (" (every effect 1.0)" if null else "")]
    return "\n".join(lines + extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--population", type=int, default=120_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--effect", action="append", default=[], metavar="NAME=RATIO")
    parser.add_argument("--null", action="store_true", help="Every planted effect 1.0.")
    parser.add_argument("--score-only", action="store_true")
    parser.add_argument(
        "--policy", type=Path, default=example("troubled-families.yaml"),
        help="The policy the flow runs under (default: the example). A variant that, for "
             "instance, does not enforce an intruder measures what its de-identification costs.")
    args = parser.parse_args()
    os.environ.setdefault("EVALINK_SCRYPT_LOG2N", "10")
    effects = parse_flag(args.effect)
    if args.null:
        effects = {name: 1.0 for name in resolve()}
    args.workdir.mkdir(parents=True, exist_ok=True)
    frames, timings = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        seed_dir = args.workdir / f"seed-{seed}"
        built = None
        # planted.json is written last: without it a build was interrupted, so start again.
        if not args.score_only and not (seed_dir / "planted.json").is_file():
            shutil.rmtree(seed_dir, ignore_errors=True)
            seed_dir.mkdir(parents=True, exist_ok=True)
            built = build(seed_dir, args.families, args.population, seed, effects, args.policy)
        if not (seed_dir / "research").is_dir():
            continue
        estimates, seconds = score(seed_dir, seed)
        frames.append(estimates)
        timings.append((seed, built, seconds))
        print(f"seed {seed}: flow {built and f'{built:.0f} s'}, evaluate {seconds:.1f} s", flush=True)
    estimates = pd.concat(frames)
    estimates.to_csv(args.workdir / "estimates.csv", index=False)
    print(f"\n{args.families:,} families, population {args.population:,}, {len(frames)} seeds, "
          f"effects {'all 1.0' if args.null else (effects or 'defaults')}, policy {args.policy}\n")
    print(summary(estimates, args.null))


if __name__ == "__main__":
    main()
