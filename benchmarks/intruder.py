"""The motivated intruder on demo worlds: today, before and after (issue 14).

    .venv/bin/python benchmarks/intruder.py                       # seeds 1..5, 1,000 families
    .venv/bin/python benchmarks/intruder.py --families 20000 --population 200000 --seeds 1

For each seed: `evalink demo --seed S --until 2020-06-13` into a temporary workdir (with
EVALINK_SCRYPT_LOG2N=10 unless it is set: key derivation is not what is measured), then

- **after**: the `deidentification` report that travelled with the research dataset
  (`package_notes("research_dataset")` at the research node): each intruder's attack on
  the released table, the k-anonymity smallest class, the families suppressed and the
  rate ratios exact against released;
- **before**: the same report's attacks on the exact table;
- **today**: the research dataset as the release before issue 14 (commit d217ba3)
  produced it, attacked by the same intruders (see below);
- the wall time and peak memory of `evalink intruder --node linker --project demo-S`,
  which rebuilds and attacks the dataset exactly as `assemble` did (under
  `/usr/bin/time -v` where it exists), and checks that its figures equal the notes'.

Prints one Markdown table of the attacks and one of the rate ratios; `--json FILE`
writes everything measured.

**Today's release, reconstructed.** At d217ba3 the research dataset was k-anonymous
(k from the policy, 10) on year_of_birth, sex, local_authority, area_code and
attachment_month by `k_anonymise` (its source is read with `git show
d217ba3:src/evalink/assemble/anonymity.py` and run as it was), and every other column was
exact: keyworker cost to the penny, all headlines, help received, calendar outcome
months. Here: the exact table (`research.research_table` on the linker's attributes and
outcomes, with the project's key) is released with
`Generalisation(index="month", birth_years=1, cost_band=1, headlines="all",
month_band=1, family_cap=99)`, then year_of_birth, sex, local_authority and
index_period are overwritten with what the old `k_anonymise` made of year_of_birth,
sex, local_authority and attachment_month (run on the old columns, area_code included;
'YYYY-MM' → 'YYYY-Qn' → 'YYYY' → blank match `index_period` at month, quarter and year,
and its year bands match `birth_years`). The attack is given the rule with the index
level *and the year-of-birth band* k_anonymise reached, so the intruder computes the
released values from what it knows. Where the reconstruction is not the old release
exactly:

- The old release had calendar outcome months; the new table has months since the index
  month plus the index period. For an intruder who knows outcome events that is the
  same information only if it can place each family's index month exactly. So:
  * intruders of persons (the outsider) attack a copy in which index_period is the exact
    index month of every family (the outsider does not know index periods, so this gives
    it nothing but the calendar months the old release showed);
  * intruders of families who know events (council-services) are told every family's
    index month, including the month drawn for a waiting family (whose old
    attachment_month was blank, but whose outcome months were calendar months);
  * the council, who knows no event, attacks the table as k_anonymise left it (a
    waiting family's attachment month blank).
- k_anonymise blanked persons, not families. A family-level value (index period, local
  authority) blanked on one member but shown on another was shown for the family, so it
  is filled in from the member who shows it. A member's year of birth or sex blanked
  while a relative's is shown cannot be expressed to the attack (it compares whole
  families, with each value blank for all members or none): such a family's years of
  birth and sex are taken as blank for all its members, which gives today's figure as a
  *lower* bound; the upper bound puts the blanked values back (the table shows
  "lower–upper" where they differ). A year of birth the council never recorded is not a
  blank of k_anonymise's making and is left as it is.
- area_code was released at d217ba3 whenever k_anonymise did not drop it; no intruder
  of the policy knows a small area, so it is not attacked (today's figures are low, if
  anything).

"Re-identified" is the attack's own check against the truth: a unit is re-identified when
exactly one candidate is compatible with what the intruder knows and it is the right one
(the linker's exact table says who is who).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl

import evalink
from evalink.assemble.generalise import Generalisation, released
from evalink.assemble.intruder import FAMILY, PERSON, attack
from evalink.assemble.pseudonyms import pseudonymise
from evalink.assemble.research import OUTCOME_COLUMNS, research_table
from evalink.clock import clock_on
from evalink.demo import DEMO_PASSPHRASE
from evalink.node import Node

REPO = Path(__file__).resolve().parents[1]
EVALINK = REPO / ".venv" / "bin" / "evalink"
UNTIL = date(2020, 6, 13)
TODAY_COMMIT = "d217ba3"
OLD_QUASI = ["attachment_month", "year_of_birth", "sex", "local_authority", "area_code"]
PURPOSE = "benchmarks/intruder.py: motivated-intruder figures"


def code_state() -> str:
    """The last commit that changed src/, and a digest of any uncommitted change there."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    imported = Path(evalink.__file__).resolve().parents[1]
    if imported != REPO / "src":  # PYTHONPATH pointing at another copy (e.g. a git archive)
        return f"evalink imported from {imported}"
    head = git("log", "-1", "--format=%h", "--", "src").strip()
    diff = git("diff", "HEAD", "--", "src")
    if not diff:
        return f"src as of {head}"
    digest = hashlib.sha256(diff.encode()).hexdigest()[:12]
    return f"src as of {head} + uncommitted changes (diff sha256 {digest})"


def _log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def _old_anonymity() -> types.ModuleType:
    """`evalink.assemble.anonymity` as it was at d217ba3."""
    source = subprocess.run(
        ["git", "show", f"{TODAY_COMMIT}:src/evalink/assemble/anonymity.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("anonymity_d217ba3")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{TODAY_COMMIT}:anonymity.py", "exec"), module.__dict__)
    return module


def _timed(command: list[str], env: dict[str, str], log: Path) -> dict[str, object]:
    """Run `command`, output to `log`; wall seconds, peak RSS (GiB, where /usr/bin/time
    -v exists) and the exit code."""
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([*timer, *command], env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    text = log.read_text()
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {
        "rc": done.returncode,
        "seconds": round(seconds, 1),
        "peak_gib": round(int(peak.group(1)) / 2**20, 2) if peak else None,
    }


def _assemble_seconds(log: Path) -> float | None:
    """The demo's own timing of its assemble stage (with research's receipt)."""
    found = re.search(r"assemble \(linker → research\).*? in ([\d.]+) s", log.read_text())
    return float(found.group(1)) if found else None


# --- today: the release as d217ba3 made it ---------------------------------------------


def _levels(steps: list[str]) -> tuple[str, int]:
    """The index level and year-of-birth band k_anonymise's ladder reached."""
    index, band = "month", 1
    for step in steps:
        if step.startswith("attachment month → quarter"):
            index = "quarter"
        elif step.startswith("attachment quarter → year"):
            index = "year"
        match = re.match(r"year of birth → (\d+)-year band", step)
        if match:
            band = int(match.group(1))
    return index, band


def today_tables(
    attributes: pl.DataFrame, exact: pl.DataFrame, key: bytes, k: int
) -> dict[str, object]:
    """The old release in the new table's terms (see the module docstring): the table
    and rule for each kind of intruder, and what k_anonymise did."""
    old = _old_anonymity()
    people = attributes.select(
        pseudonymise(pl.col("reference_number"), key).alias(PERSON),
        pl.col("attachment_date").cast(pl.Utf8).str.slice(0, 7).alias("attachment_month"),
        "year_of_birth",
        "sex",
        "local_authority",
        "area_code",
    )
    anonymised, report = old.k_anonymise(people, OLD_QUASI, k)
    index, band = _levels(report.steps_applied)
    rule = Generalisation(
        index=index, birth_years=band, cost_band=1, headlines="all", month_band=1, family_cap=99
    )
    row = "_row"
    base = released(exact, replace(rule, index="month", birth_years=1)).with_row_index(row)
    columns = [c for c in base.columns if c != row]
    # `released` keeps the exact table's rows in order: the row index lines them up.
    truth = (
        released(exact, replace(rule, index="month"))
        .with_row_index(row)
        .select(
            row,
            pl.col("year_of_birth").alias("true_year_of_birth"),
            pl.col("sex").alias("true_sex"),
            pl.col("index_period").alias("true_index_period"),
        )
    )
    shown = anonymised.select(
        PERSON,
        pl.col("year_of_birth").cast(pl.Utf8).alias("old_year_of_birth"),
        pl.col("sex").cast(pl.Utf8).alias("old_sex"),
        pl.col("local_authority").alias("old_local_authority"),
        pl.col("attachment_month").alias("old_index_period"),
        pl.all_horizontal(pl.col(q).is_null() for q in OLD_QUASI).alias("all_blank"),
    )
    # Blanked by k_anonymise: every quasi-identifier empty where the input had one (a
    # year of birth missing from the council's records is not a blank of its making).
    had = people.select(
        PERSON, (~pl.all_horizontal(pl.col(q).is_null() for q in OLD_QUASI)).alias("had")
    )
    shown = shown.join(had, on=PERSON, how="left").with_columns(
        blanked=pl.col("all_blank") & pl.col("had")
    )
    table = base.join(shown, on=PERSON, how="left").join(truth, on=row).sort(row)
    # Family-level values shown on any member were shown for the family.
    for column in ("index_period", "local_authority"):
        table = table.with_columns(
            pl.col(f"old_{column}").drop_nulls().first().over(FAMILY).alias(f"old_{column}")
        )
    person_blank = pl.col("blanked").fill_null(False)
    mixed = (
        table.group_by(FAMILY)
        .agg(person_blank.any().alias("some"), person_blank.all().alias("all"))
        .filter(pl.col("some") & ~pl.col("all"))[FAMILY]
        .to_list()
    )
    table = table.with_columns(
        pl.col(f"old_{c}").alias(c)
        for c in ("year_of_birth", "sex", "local_authority", "index_period")
    )
    in_mixed = pl.col(FAMILY).is_in(mixed)
    # Lower bound: a family with a member's year of birth and sex blanked shows none.
    lower = table.with_columns(
        pl.when(in_mixed).then(pl.lit(None, pl.Utf8)).otherwise(pl.col(c)).alias(c)
        for c in ("year_of_birth", "sex")
    )
    # Upper bound: the blanked member's values put back (sex only where k_anonymise
    # did not remove it from everyone).
    sex_removed = any(s.startswith("sex removed") for s in report.steps_applied)
    restore = ["year_of_birth"] if sex_removed else ["year_of_birth", "sex"]
    upper = table.with_columns(
        pl.when(in_mixed & person_blank).then(pl.col(f"true_{c}")).otherwise(pl.col(c)).alias(c)
        for c in restore
    )
    # For an intruder of persons who knows an outcome month: calendar months, i.e. the
    # exact index month, with each person's own values as k_anonymise left them.
    calendar = table.with_columns(index_period=pl.col("true_index_period"))
    lower, upper, calendar = (t.select(columns) for t in (lower, upper, calendar))
    return {
        "lower": lower,
        "upper": upper,
        "calendar": calendar,
        "rule": rule,
        "calendar_rule": replace(rule, index="month"),
        "steps": report.steps_applied,
        "persons_blanked": report.persons_suppressed,
        "smallest_class": report.smallest_class,
        "families_mixed": len(mixed),
    }


def today_risks(exact: pl.DataFrame, tables: dict[str, object], intruders) -> list[dict]:
    out = []
    pinned = exact.with_columns(index_source=pl.lit("attachment"))
    for intruder in intruders:
        if intruder.unit == "person":
            risk = attack(exact, tables["calendar"], tables["calendar_rule"], intruder)
            high = risk
        elif intruder.events is not None:
            risk = attack(pinned, tables["lower"], tables["rule"], intruder)
            high = attack(pinned, tables["upper"], tables["rule"], intruder)
        else:
            risk = attack(exact, tables["lower"], tables["rule"], intruder)
            high = attack(exact, tables["upper"], tables["rule"], intruder)
        entry = risk.as_dict()
        entry["reidentified_upper"] = high.reidentified
        entry["share_upper"] = round(high.share, 6)
        out.append(entry)
    return out


# --- one seed -----------------------------------------------------------------------------


def _environment() -> tuple[dict[str, str], str]:
    env = dict(os.environ)
    env.setdefault("EVALINK_SCRYPT_LOG2N", "10")
    return env, env.get("EVALINK_PASSPHRASE") or DEMO_PASSPHRASE


def run_demo(workdir: Path, seed: int, families: int, population: int) -> dict[str, object]:
    """`evalink demo` to the day research holds its dataset; its timing, or its failure
    (the last lines it printed: an assemble refusal names the intruder and the risk)."""
    env, _ = _environment()
    log = workdir.with_suffix(".demo.log")
    _log(f"seed {seed}: demo ({families:,} families, population {population:,}) → {workdir}")
    demo = _timed(
        [
            str(EVALINK),
            "demo",
            "--workdir",
            str(workdir),
            "--families",
            str(families),
            "--population",
            str(population),
            "--seed",
            str(seed),
            "--until",
            UNTIL.isoformat(),
        ],
        env,
        log,
    )
    text = log.read_text()
    result: dict[str, object] = {"demo": {**demo, "assemble_seconds": _assemble_seconds(log)}}
    # A promise the demo finds BROKEN exits 1 after research has its dataset: measured
    # all the same, with the lines that say what broke. Any other failure stops the seed.
    result["broken"] = [line.strip() for line in text.splitlines() if "BROKEN" in line]
    received = (workdir / "research").exists() and "assemble (linker → research)" in text
    if demo["rc"] != 0 and not received:
        tail = text.splitlines()[-40:]
        result["failed"] = "\n".join(tail)
        _log(f"seed {seed}: demo exited {demo['rc']}:\n" + "\n".join(tail))
    elif demo["rc"] != 0:
        _log(f"seed {seed}: demo exited {demo['rc']}: " + " | ".join(result["broken"]))
    return result


def measure(workdir: Path, seed: int) -> dict[str, object]:
    """Today, before and after for the demo in `workdir` (project demo-`seed`)."""
    env, passphrase = _environment()
    result: dict[str, object] = {}
    project = f"demo-{seed}"
    clock = clock_on(UNTIL)
    with Node.open(workdir / "research", passphrase, clock=clock, retention=False) as node:
        report = node.package_notes("research_dataset")["deidentification"]
    result["after"] = report
    with Node.open(workdir / "linker", passphrase, clock=clock, retention=False) as node:
        attributes = pl.from_arrow(node.read_dataset("attributes", purpose=PURPOSE))
        outcomes = {
            dataset: pl.from_arrow(node.read_dataset(dataset, purpose=PURPOSE))
            for dataset in OUTCOME_COLUMNS
            if node.parts(dataset)
        }
        keys = pl.from_arrow(node.read_dataset("project_keys", purpose=PURPOSE))
        key = bytes.fromhex(keys.filter(pl.col("project") == project)["key"][0])
        policy = node.policy
    exact = research_table(attributes, outcomes, key)
    intruders = policy.intruders("research_dataset")
    started = time.perf_counter()
    tables = today_tables(attributes, exact, key, policy.k_anonymity("research"))
    result["today"] = today_risks(exact, tables, intruders)
    result["today_k_anonymise"] = {
        "steps": tables["steps"],
        "persons_blanked": tables["persons_blanked"],
        "smallest_class": tables["smallest_class"],
        "families_with_a_member_blanked": tables["families_mixed"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    _log(f"seed {seed}: evalink intruder (rebuild and attack, timed)")
    rerun_log = workdir.with_suffix(".intruder.log")
    rerun = _timed(
        [
            str(EVALINK),
            "intruder",
            "--node",
            str(workdir / "linker"),
            "--project",
            project,
            "--format",
            "json",
        ],
        {**env, "EVALINK_TODAY": UNTIL.isoformat(), "EVALINK_PASSPHRASE": passphrase},
        rerun_log,
    )
    text = rerun_log.read_text()
    body = text[text.find("{") : text.rfind("}") + 1] if "{" in text else ""
    try:
        again = json.loads(body)
        # The rebuild must give what travelled (it differs if the code changed since).
        rerun["same_as_notes"] = all(again.get(name) == value for name, value in report.items())
    except json.JSONDecodeError:
        rerun["same_as_notes"] = None
        rerun["output"] = text[-2000:]
    result["intruder_command"] = rerun
    return result


# --- tables ---------------------------------------------------------------------------------


def _cell(risk: dict, upper: bool = False) -> str:
    text = (
        f"{risk['reidentified']:,} / {risk['units']:,} ({risk['share']:.2%}; exp. "
        f"{risk['expected_rate']:.2%})"
    )
    if upper and risk.get("reidentified_upper", risk["reidentified"]) != risk["reidentified"]:
        text = (
            f"{risk['reidentified']:,}–{risk['reidentified_upper']:,} / {risk['units']:,} "
            f"({risk['share']:.2%}–{risk['share_upper']:.2%}; exp. "
            f"{risk['expected_rate']:.2%})"
        )
    return text


def tables(results: list[dict]) -> str:
    lines = [
        "| seed | intruder | bound | today (d217ba3) | before (exact) | after (released) "
        "| within |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if "failed" in result:
            lines.append(f"| {result['seed']} | demo failed | | | | | |")
            continue
        after = result["after"]
        for today, before, risk in zip(
            result["today"], after["before"], after["intruders"], strict=True
        ):
            bound = f"{risk['bound']:.1%}" + ("" if risk["enforced"] else " (not enforced)")
            within = "yes" if risk["within"] else ("**no**" if risk["enforced"] else "no")
            lines.append(
                f"| {result['seed']} | {risk['intruder']} ({risk['unit']}) | {bound} "
                f"| {_cell(today, upper=True)} | {_cell(before)} | {_cell(risk)} | {within} |"
            )
    lines += [
        "",
        "| seed | families / persons | k smallest class (k) | rule | withheld "
        "(families) | today: k_anonymise | demo wall / assemble stage | "
        "`evalink intruder` wall, peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if "failed" in result:
            continue
        after, rerun = result["after"], result["intruder_command"]
        demo = result.get("demo", {"seconds": "–", "assemble_seconds": "–"})
        rule = after["generalisation"]
        rule_text = (
            f"index {rule['index']}, birth {rule['birth_years']} y, cost "
            f"£{rule['cost_band']:,}, headlines {rule['headlines']}, months "
            f"{rule['month_band']}, size cap {rule['family_cap']}"
        )
        withheld = ", ".join(f"{w} {n}" for w, n in after["families_suppressed"].items()) or "none"
        old = result["today_k_anonymise"]
        old_text = f"{'; '.join(old['steps']) or 'nothing'}; smallest class {old['smallest_class']}"
        peak = f", {rerun['peak_gib']} GiB" if rerun.get("peak_gib") is not None else ""
        same = "" if rerun.get("same_as_notes") else " (differs from the notes!)"
        lines.append(
            f"| {result['seed']} | {after['families']:,} / {after['persons']:,} "
            f"| {after['smallest_class']} ({after['k']}) | {rule_text} | {withheld} "
            f"| {old_text} | {demo['seconds']} s / {demo['assemble_seconds']} s "
            f"| {rerun['seconds']} s{peak}{same} |"
        )
    lines += [
        "",
        "| seed | outcome | exact rate ratio [95% interval] | released | moved "
        "(share of interval width) |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        if "failed" in result:
            continue
        for ratio in result["after"]["utility"]:
            if ratio["exact"] is None:
                lines.append(f"| {result['seed']} | {ratio['outcome']} | too few events | | |")
                continue
            moved = ratio["moved_share_of_interval"]
            released_text = "n/a" if ratio["released"] is None else f"{ratio['released']:.3f}"
            lines.append(
                f"| {result['seed']} | {ratio['outcome']} | {ratio['exact']:.3f} "
                f"[{ratio['low']:.3f}, {ratio['high']:.3f}] | {released_text} "
                f"| {'n/a' if moved is None else f'{moved:.1%}'} |"
            )
    broken = [(r["seed"], line) for r in results for line in r.get("broken", [])]
    if broken:
        lines += ["", "Promises the demo found BROKEN (it exits 1):", ""]
        lines += [f"- seed {seed}: {line}" for seed, line in broken]
    failed = [r for r in results if "failed" in r]
    for result in failed:
        lines += [
            "",
            f"Seed {result['seed']}: the demo failed; its last lines:",
            "",
            "```",
            str(result["failed"]),
            "```",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--families", type=int, default=1000)
    parser.add_argument("--population", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="Keep each seed's workdir under this folder (default: a "
        "temporary folder, removed at the end).",
    )
    parser.add_argument("--json", type=Path, default=None, help="Write every figure here.")
    parser.add_argument(
        "--existing",
        type=Path,
        default=None,
        help="Measure the demo already run into this workdir (one seed, "
        "the one it ran with) instead of running one; --families and "
        "--population are then only labels.",
    )
    args = parser.parse_args()
    if args.existing is not None and len(args.seeds) != 1:
        parser.error("--existing takes one seed: the one its demo ran with")
    root = args.keep or Path(tempfile.mkdtemp(prefix="evalink-intruder-"))
    root.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for seed in args.seeds:
            result: dict[str, object] = {
                "seed": seed,
                "families": args.families,
                "population": args.population,
                "code": code_state(),
            }
            if args.existing is not None:
                workdir = args.existing
                log = workdir.with_suffix(".demo.log")
                if log.exists():  # as run_demo left it: the stage timing and BROKEN lines
                    text = log.read_text()
                    result["demo"] = {"seconds": "–", "assemble_seconds": _assemble_seconds(log)}
                    result["broken"] = [ln.strip() for ln in text.splitlines() if "BROKEN" in ln]
            else:
                workdir = root / f"seed-{seed}"
                if workdir.exists():
                    shutil.rmtree(workdir)
                result.update(run_demo(workdir, seed, args.families, args.population))
            if "failed" not in result:
                result.update(measure(workdir, seed))
            if result["code"] != code_state():
                result["code"] += f"; changed while measuring, to {code_state()}"
            results.append(result)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    codes = sorted({str(r["code"]) for r in results})
    print(f"code: {'; '.join(codes)}\n")
    print(tables(results))


if __name__ == "__main__":
    main()
