"""The evaluation's weights on the truth of synth worlds: no linkage, no de-identification.

A diagnostic beside `benchmarks/evaluate_validity.py`: where the flow's estimates miss
the planted ratio, this says whether the estimator would miss it on exact data too.
For each seed it writes a world with `evalink.synth`, takes the eligible families' true
members, ages at the true index date and true department events, and prints the mean
and standard error over the seeds of the log ratio (programme against waiting) over
months 0–24, by outcome, measure (any event / events counted) and weighting (overlap,
odds, none, exact selection strata standardised to the programme).

    .venv/bin/python benchmarks/diagnostics/evaluate_oracle.py --families 40000 \\
        --population 400000 --seeds 20 --first-seed 101 --null --workdir W
    .venv/bin/python benchmarks/diagnostics/evaluate_oracle.py ... \\
        --effect child_looked_after=0.5 --effect jsa_claim=0.75

It compares log ratios, not errors: subtract the planted log ratio (0 with --null).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from evalink.synth.calendar import DAYS_PER_MONTH
from evalink.synth.effects import parse_flag, resolve
from evalink.synth.world import generate

FOLLOW_UP_MONTHS = 24
# outcome → (department table, (column, values) or None, ages at the index date)
OUTCOMES = {
    "child_looked_after": ("dfe/looked_after", None, (0, 17)),
    "child_protection_plan": ("dfe/children_in_need", ("episode_type", ["CPP"]), (0, 17)),
    "jsa_claim": ("dwp/benefit_spells", ("benefit", ["JSA", "UC"]), (16, 65)),
}


def _world(out: Path, families: int, population: int, seed: int, effects: dict[str, float]) -> Path:
    if not (out / "truth" / "families.parquet").is_file():
        generate(out, families=families, population=population, seed=seed, effects=effects or None, force=True)
    return out


def _log_ratio(y: np.ndarray, programme: np.ndarray, weight: np.ndarray) -> float:
    treated = np.average(y[programme], weights=weight[programme])
    control = np.average(y[~programme], weights=weight[~programme])
    return float(np.log(treated / control)) if treated > 0 and control > 0 else np.nan


def log_ratios(world: Path) -> dict[str, float]:
    families = pd.read_parquet(world / "truth" / "families.parquet")
    families = families[families["eligible"]].copy()
    families["children_need_help"] = families["headlines"].map(lambda h: "children_need_help" in list(h))
    families["programme"] = (families["cohort"] == "attached").astype(int)
    # Selection follows the headline count and children in need (synth/problems.py).
    design = pd.get_dummies(families["n_headlines"].clip(upper=5).astype(str)).astype(float)
    design["children_need_help"] = families["children_need_help"].astype(float)
    score = LogisticRegression(C=1e6, max_iter=1000).fit(design, families["programme"]).predict_proba(design)[:, 1]
    families["score"] = score
    persons = pd.read_parquet(world / "truth" / "persons.parquet")
    members = persons[persons["family_id"].isin(families["family_id"])].drop_duplicates("person_id")
    members = members[["person_id", "family_id", "dob"]].merge(
        families[["family_id", "index_date", "n_headlines", "children_need_help", "programme", "score"]], on="family_id")
    members["index_date"] = pd.to_datetime(members["index_date"])
    members["age"] = (members["index_date"] - pd.to_datetime(members["dob"])).dt.days / 365.25
    out: dict[str, float] = {}
    for name, (table, where, (youngest, oldest)) in OUTCOMES.items():
        department, file = table.split("/")
        events = pd.read_parquet(world / "departments" / department / f"{file}.parquet")
        if where:
            events = events[events[where[0]].isin(where[1])]
        records = persons.loc[persons["source"] == f"departments/{department}/persons", ["person_id", "record_id"]]
        population = members[(members["age"] >= youngest) & (members["age"] < oldest + 1)].copy()
        events = events.merge(records, on="record_id").merge(population[["person_id", "index_date"]], on="person_id")
        months = (pd.to_datetime(events["start_date"]) - events["index_date"]).dt.days / DAYS_PER_MONTH
        counted = events[(months >= 0) & (months < FOLLOW_UP_MONTHS)].groupby("person_id").size()
        population["count"] = population["person_id"].map(counted).fillna(0.0)
        population["any"] = (population["count"] > 0).astype(float)
        programme = population["programme"].to_numpy() == 1
        e = population["score"].to_numpy()
        weights = {"overlap": np.where(programme, 1 - e, e), "odds": np.where(programme, 1.0, e / (1 - e)),
                   "none": np.ones(len(population))}
        for measure in ("any", "count"):
            y = population[measure].to_numpy()
            for weighting, weight in weights.items():
                out[f"{name} {measure} {weighting}"] = _log_ratio(y, programme, weight)
            strata = population.groupby([population["n_headlines"].clip(upper=5), "children_need_help", "programme"])[
                measure].agg(["mean", "size"]).unstack("programme").dropna()
            treated = np.average(strata[("mean", 1)], weights=strata[("size", 1)])
            control = np.average(strata[("mean", 0)], weights=strata[("size", 1)])
            out[f"{name} {measure} strata"] = float(np.log(treated / control)) if treated > 0 and control > 0 else np.nan
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--population", type=int, default=120_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--effect", action="append", default=[], metavar="NAME=RATIO")
    parser.add_argument("--null", action="store_true", help="Every planted effect 1.0.")
    args = parser.parse_args()
    effects = {name: 1.0 for name in resolve()} if args.null else parse_flag(args.effect)
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        world = _world(args.workdir / f"world-{seed}", args.families, args.population, seed, effects)
        rows.append({"seed": seed, **log_ratios(world)})
        print(f"seed {seed}", flush=True)
    table = pd.DataFrame(rows).set_index("seed")
    summary = pd.DataFrame({"mean log ratio": table.mean(), "se": table.std() / np.sqrt(table.notna().sum()),
                            "seeds": table.notna().sum()})
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
