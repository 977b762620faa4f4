"""ACRO and `safe_table` agree on every cell (issue 16, "ACRO agreement").

ACRO (acro 1.0.x, the checks UK trusted research environments run) is the oracle: for
each generated table it says which interior cells fail and by which rule, with the same
thresholds evalink uses. evalink must suppress exactly those cells as primary, for the
same rules. Where evalink is stricter by design the test says so and counts it:

- "stricter by design: secondary suppression": evalink also suppresses cells ACRO passes,
  so that no primary cell can be worked out from the rest of the table; every such cell
  is one ACRO passes, and its only rule is "secondary".
- "stricter by design: rounding": evalink publishes counts rounded to the base; every
  published count is ACRO's count rounded, nothing else. Against ACRO's own `round`
  mitigation (numpy, halves to even) two conventions differ and are counted by name:
  evalink rounds halves up, and never shows a count that passed as 0 (it shows the base).
- "stricter by design: dominance checked beside a negative": ACRO checks no cell's
  dominance in a sum or mean table once any cell holds a negative value; evalink checks
  every cell without one. The oracle asks ACRO about those cells on their rows alone.

The first tests check the oracle itself on tables small enough to work out by hand, so
that an oracle that passed everything could not make the agreement pass. A failure names
the seed: `synthetic_table(seed)` rebuilds the table exactly.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evalink.disclosure import SafeTable, Status, TableSpec, Thresholds, safe_table
from tests.disclosure.acro_oracle import (
    ACRO_VERSION,
    AcroVerdict,
    Key,
    acro_rounded,
    acro_verdicts,
    crosstab_verdict,
)
from tests.disclosure.tables_strategy import synthetic_table
from tests.tables import table

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "troubled-families.yaml"
# The example policy's rules for what the public receives (its `disclosure:` entry).
POLICY_RULES: dict[str, Any] = {
    "min_count": 10,
    "zeros_disclosive": True,
    "nk_n": 2,
    "nk_k": 90.0,
    "p_ratio": 10.0,
    "rounding_base": 5,
}


@pytest.fixture(autouse=True)
def in_an_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """ACRO runs where nothing of ours can be overwritten, and must leave nothing there."""
    monkeypatch.chdir(tmp_path)
    yield
    assert list(tmp_path.iterdir()) == [], "ACRO wrote files while checking tables"


def rows(text: str) -> pd.DataFrame:
    return table(text, numbers=("cost",)).to_pandas()


def one_per_row(cells: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """Rows of (area, problem, cost) from each cell's list of costs."""
    return pd.DataFrame(
        [(area, problem, cost) for (area, problem), costs in cells.items() for cost in costs],
        columns=["area", "problem", "cost"],
    )


def verdict(data: pd.DataFrame, aggfunc: str, **thresholds: Any) -> dict:
    rules = {**POLICY_RULES, **thresholds}
    values = None if aggfunc == "count" else "cost"
    answer = acro_verdicts(
        data,
        index=("area",),
        columns="problem",
        values=values,
        aggfuncs=(aggfunc,),
        thresholds=rules,
    )
    return answer[aggfunc].failing


# --- the oracle, on tables worked out by hand -----------------------------------------

TWELVE_AND_THREE = one_per_row({("north", "debt"): [100.0] * 12, ("north", "crime"): [100.0] * 3})


def test_acro_says_a_cell_of_three_fails_the_threshold():
    failing = verdict(TWELVE_AND_THREE, "count")
    assert failing == {("north", "debt"): frozenset(), ("north", "crime"): {"threshold"}}


def test_acro_reads_the_threshold_it_is_given():
    assert verdict(TWELVE_AND_THREE, "count", min_count=3)[("north", "crime")] == frozenset()
    assert verdict(TWELVE_AND_THREE, "count", min_count=13)[("north", "debt")] == {"threshold"}


def test_acro_says_an_empty_frequency_cell_is_a_disclosive_zero_unless_zeros_are_not():
    data = one_per_row({("north", "debt"): [1.0] * 12, ("south", "crime"): [1.0] * 12})
    assert verdict(data, "count")[("north", "crime")] == {"threshold", "zero"}
    assert verdict(data, "count", zeros_disclosive=False)[("north", "crime")] == {"threshold"}


def test_acro_says_an_empty_sum_cell_fails_the_threshold_only():
    # ACRO runs its zero check on frequency tables only (statbarns: LinearAggregations).
    data = one_per_row({("north", "debt"): [100.0] * 12, ("south", "crime"): [100.0] * 12})
    assert verdict(data, "sum")[("north", "crime")] == {"threshold"}


def test_acro_says_a_cell_where_one_contributor_is_95_percent_fails_dominance():
    # 1,900 of 2,000: the largest alone is 95%; the rest (100) is 5.3% of it.
    data = one_per_row(
        {("north", "debt"): [1900.0] + [10.0] * 10, ("north", "crime"): [100.0] * 11}
    )
    failing = verdict(data, "sum")
    assert failing[("north", "debt")] == {"dominance", "p-ratio"}
    assert failing[("north", "crime")] == frozenset()


def test_acro_reads_the_dominance_rule_it_is_given():
    # The two largest are 2 x 300 of 1,600 = 37.5%; the largest alone 18.75%.
    data = one_per_row({("north", "debt"): [300.0, 300.0] + [100.0] * 10})
    assert verdict(data, "sum")[("north", "debt")] == frozenset()
    assert verdict(data, "sum", nk_k=35.0)[("north", "debt")] == {"dominance"}
    assert verdict(data, "sum", nk_n=1, nk_k=20.0)[("north", "debt")] == frozenset()


def test_acro_says_two_large_contributors_who_could_estimate_each_other_fail_p_ratio():
    # Rest = 45 is 4.5% of the largest (1,000): the second largest learns it within 4.5%.
    # The two largest are 1,800 of 1,845 = 97.6%: dominance too, unless k is above that.
    data = one_per_row({("north", "debt"): [1000.0, 800.0] + [5.0] * 9})
    assert verdict(data, "sum", nk_k=99.0)[("north", "debt")] == {"p-ratio"}


def test_acro_says_two_largest_at_exactly_k_percent_fail_dominance():
    # 500 + 400 of 1,000 is exactly 90%: ACRO's NKCheck fails at >= k.
    data = one_per_row({("north", "debt"): [500.0, 400.0] + [10.0] * 10})
    assert "dominance" in verdict(data, "sum")[("north", "debt")]


def test_acro_says_a_rest_of_exactly_p_percent_passes_p_ratio():
    # Rest = 100 is exactly 10% of the largest (1,000): ACRO's PPercentCheck fails at < p.
    data = one_per_row({("north", "debt"): [1000.0, 100.0] + [10.0] * 10})
    assert "p-ratio" not in verdict(data, "sum", nk_k=99.0)[("north", "debt")]


def test_acro_says_a_cell_of_zero_costs_fails_p_ratio():
    # PPercentCheck keeps the numerator where the largest is zero (its comment says
    # "treat as non-disclosive"; its code `sub_total.where(top1 == 0, ...)` does not).
    data = one_per_row({("north", "debt"): [0.0] * 12, ("north", "crime"): [100.0] * 12})
    assert verdict(data, "sum")[("north", "debt")] == {"p-ratio"}


def test_acro_says_a_cell_with_a_refund_is_negative_and_the_others_are_still_asked():
    # ACRO itself checks no cell's dominance once any cell holds a negative; the oracle
    # asks again for the other cells on their rows alone, and says it did.
    data = one_per_row(
        {
            ("north", "debt"): [-50.0] + [100.0] * 11,
            ("north", "crime"): [5000.0] + [10.0] * 11,
            ("south", "debt"): [100.0] * 12,
        }
    )
    answer = acro_verdicts(
        data,
        index=("area",),
        columns="problem",
        values="cost",
        aggfuncs=("sum",),
        thresholds=POLICY_RULES,
    )["sum"]
    assert answer.failing[("north", "debt")] == {"negative"}
    assert answer.failing[("north", "crime")] == {"dominance", "p-ratio"}
    assert answer.failing[("south", "debt")] == frozenset()
    assert answer.failing[("south", "crime")] == {"threshold"}
    assert ("north", "crime") in answer.dominance_asked_separately
    literal, _ = crosstab_verdict(
        data,
        index=("area",),
        columns="problem",
        values="cost",
        aggfunc="sum",
        thresholds=POLICY_RULES,
    )
    assert literal.failing[("north", "crime")] == frozenset()  # ACRO's own answer: unchecked


def test_acro_keys_cells_by_every_index_value_then_the_column_value():
    data = rows("""
        area  | family_type | problem | cost
        north | couple      | debt    | 1
        north | lone_parent | crime   | 1
        south | couple      | crime   | 1
    """)
    answer = acro_verdicts(
        data,
        index=("area", "family_type"),
        columns="problem",
        values=None,
        aggfuncs=("count",),
        thresholds={**POLICY_RULES, "min_count": 1},
    )["count"]
    # Every combination of the values seen, as ACRO's crosstab (dropna forced False) has it.
    assert len(answer.failing) == 2 * 2 * 2
    assert answer.count[("north", "couple", "debt")] == 1
    assert answer.failing[("south", "lone_parent", "debt")] == {"threshold", "zero"}
    assert answer.failing[("north", "couple", "debt")] == frozenset()


@pytest.mark.parametrize("aggfunc", ["count", "sum", "mean"])
def test_the_oracles_two_ways_into_acro_agree(aggfunc: str):
    # acro_verdicts goes through ACRO's check engine, as crosstab does; crosstab's own
    # recorded outcome must say the same of every cell (the agreement test samples too).
    for seed in (3, 11, 19):
        generated = synthetic_table(seed)
        values = None if aggfunc == "count" else generated.values
        engine = acro_verdicts(
            generated.data,
            index=generated.index,
            columns=generated.columns,
            values=values,
            aggfuncs=(aggfunc,),
            thresholds=generated.thresholds,
        )[aggfunc]
        researchers, _ = crosstab_verdict(
            generated.data,
            index=generated.index,
            columns=generated.columns,
            values=values,
            aggfunc=aggfunc,
            thresholds=generated.thresholds,
        )
        assert engine.failing == researchers.failing, generated.describe()


# --- the agreement ----------------------------------------------------------------------

# 334 generated row sets, each tabulated three ways (count, sum and mean of its costs):
# 1,002 tables. ACRO's checks read the same evidence for the three (see acro_oracle).
DATASETS = 334
AGGFUNCS = ("count", "sum", "mean")
# Secondary suppression needs totals to protect against, so it is seen with margins,
# where evalink solves linear programmes per suppressed cell (~0.4 s a table): every so
# many row sets, their three tables are also made with margins.
MARGINS_SAMPLE_EVERY = 34
# Every so many row sets, ACRO is also asked the researcher's way (crosstab), which must
# say what its check engine says.
CROSSTAB_SAMPLE_EVERY = 34
# Row sets handed to the ACRO process at a time.
CHUNK = 17
# Sums and means are published to pence (evalink.disclosure.table.DECIMALS).
PENNY = 0.005 + 1e-9


def rule_set(text: Any) -> frozenset[str]:
    if not isinstance(text, str) or not text:
        return frozenset()
    return frozenset(rule for rule in text.split(";") if rule)


def interior(result: SafeTable) -> dict[Key, tuple[str, frozenset[str]]]:
    """evalink's status and rules of each interior cell (no part of its key "Total")."""
    dims = [*result.spec.index, result.spec.columns]
    cells: dict[Key, tuple[str, frozenset[str]]] = {}
    for row in result.checks.to_dict("records"):
        key = tuple(str(row[d]) for d in dims)
        if "Total" not in key:
            cells[key] = (str(row["status"]), rule_set(row["rules"]))
    return cells


def published_cells(result: SafeTable) -> dict[Key, float]:
    """The publishable table's interior cells (NaN where suppressed)."""
    index = list(result.spec.index)
    cells: dict[Key, float] = {}
    for row in result.published.to_dict("records"):
        prefix = tuple(str(row[name]) for name in index)
        if "Total" in prefix:
            continue
        for column, value in row.items():
            if column not in index and str(column) != "Total":
                cells[(*prefix, str(column))] = math.nan if pd.isna(value) else float(value)
    return cells


def literal(verdict: AcroVerdict) -> dict[Key, frozenset[str]]:
    """What ACRO's crosstab itself says: no dominance where the oracle asked separately."""
    return {
        key: rules - {"dominance", "p-ratio"}
        if key in verdict.dominance_asked_separately
        else rules
        for key, rules in verdict.failing.items()
    }


class Agreement:
    """The figures of one run, and every disagreement, each with what reproduces it."""

    def __init__(self) -> None:
        self.tally: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def compare(self, where: str, acro: AcroVerdict, result: SafeTable) -> None:
        """Cell by cell: ACRO fails it <=> evalink suppresses it as primary, for the same
        rules; any other suppression is secondary; what is published is ACRO's cell."""
        margins = result.spec.margins
        evalink = interior(result)
        if set(evalink) != set(acro.failing):
            only_acro = sorted(set(acro.failing) - set(evalink))[:5]
            only_evalink = sorted(set(evalink) - set(acro.failing))[:5]
            self.problem(where, f"cells differ: ACRO only {only_acro}, evalink only {only_evalink}")
            return
        published = published_cells(result)
        counts = result.spec.aggfunc == "count"
        acro_round = acro_rounded(acro.count, result.thresholds.rounding_base) if counts else {}
        for key, acro_rules in sorted(acro.failing.items()):
            status, rules = evalink[key]
            cell = f"cell {key}: ACRO {sorted(acro_rules) or 'passes'}, evalink {status} {sorted(rules)}"
            shown = published[key]
            if not margins:
                self.tally["cells"] += 1
                self.rules.update(acro_rules)
            if acro_rules:
                if status != Status.SUPPRESSED_PRIMARY or rules != acro_rules:
                    self.problem(where, cell)
                elif not math.isnan(shown):
                    self.problem(where, f"{cell}, yet published as {shown}")
                elif (
                    not margins
                    and key in acro.dominance_asked_separately
                    and acro_rules & {"dominance", "p-ratio"}
                ):
                    # ACRO's crosstab leaves these unchecked: a negative is elsewhere.
                    self.tally["stricter by design: dominance checked beside a negative"] += 1
            elif status == Status.SUPPRESSED_SECONDARY:
                if rules != {"secondary"}:
                    self.problem(where, f"{cell}: a secondary cell's rule must be 'secondary'")
                elif not math.isnan(shown):
                    self.problem(where, f"{cell}, yet published as {shown}")
                else:
                    # Stricter by design: secondary suppression, of a cell ACRO passes.
                    self.tally["stricter by design: secondary suppression"] += 1
                    self.tally[f"secondary cells in {result.spec.aggfunc} tables"] += 1
            elif status != Status.PUBLISHED or rules:
                self.problem(where, cell)
            elif counts:
                self.rounding(where, cell, shown, acro.count[key], acro_round[key], result)
            elif not abs(shown - acro.aggregate[key]) <= PENNY:
                self.problem(
                    where, f"{cell}: published {shown}, ACRO's cell is {acro.aggregate[key]}"
                )
            elif not margins:
                self.tally["published cells"] += 1

    def rounding(
        self, where: str, cell: str, shown: float, count: int, acro_round: float, result: SafeTable
    ) -> None:
        """Stricter by design: rounding. ACRO publishes the count itself; evalink the count
        rounded to the base, and nothing else. ACRO's own `round` mitigation (numpy: halves
        to even) is the reference, and where evalink's convention differs it is named."""
        base = result.thresholds.rounding_base
        margins = result.spec.margins
        if math.isnan(shown) or shown % base != 0:
            self.problem(where, f"{cell}: published {shown}, not a multiple of {base}")
            return
        if shown == acro_round:
            kind = "as ACRO's round_table rounds it"
        elif count > 0 and acro_round == 0 and shown == base:
            # A count that passed the checks is never shown as zero (a base above the
            # threshold would round it to a zero, which the rules treat as disclosive).
            kind = "a small count shown as the base, where ACRO's round_table shows 0"
        elif (count / base) % 1 == 0.5 and shown == math.floor(count / base + 0.5) * base:
            kind = "a half rounded up, where ACRO's round_table rounds it to even"
        else:
            self.problem(where, f"{cell}: published {shown}, ACRO's count is {count}, base {base}")
            return
        if not margins:
            self.tally["published cells"] += 1
            if shown != count:
                self.tally["stricter by design: rounding"] += 1
                self.tally[f"rounded: {kind}"] += 1

    def compare_margins(self, where: str, without: SafeTable, with_margins: SafeTable) -> None:
        """Margins add cells (the totals) and may add secondary suppression, but change no
        interior cell's primary verdict."""
        alone, among = interior(without), interior(with_margins)
        for key, (status, rules) in alone.items():
            primary = status == Status.SUPPRESSED_PRIMARY
            again = among.get(key)
            if (
                again is None
                or (again[0] == Status.SUPPRESSED_PRIMARY) != primary
                or (primary and again[1] != rules)
            ):
                self.problem(
                    f"{where}, margins=True",
                    f"cell {key}: {status} {sorted(rules)} without margins, {again} with",
                )
        self.tally["tables also made with margins"] += 1

    def report(self) -> str:
        shown = self.problems[:25]
        more = len(self.problems) - len(shown)
        return "\n".join(shown + ([f"... and {more} more"] if more else []))


def acro_of_seeds(seeds: list[int]) -> tuple[list[dict[str, AcroVerdict]], list[str], Counter[str]]:
    """ACRO's half of the work, in its own process: its verdicts on the three tables of
    each seed; and for the sampled seeds, whether its crosstab says the same."""
    verdicts: list[dict[str, AcroVerdict]] = []
    problems: list[str] = []
    tally: Counter[str] = Counter()
    for seed in seeds:
        generated = synthetic_table(seed)
        clock = time.process_time()
        verdicts.append(
            acro_verdicts(
                generated.data,
                index=generated.index,
                columns=generated.columns,
                values=generated.values,
                aggfuncs=AGGFUNCS,
                thresholds=generated.thresholds,
            )
        )
        tally["seconds ACRO (cpu)"] += time.process_time() - clock
        if seed % CROSSTAB_SAMPLE_EVERY:
            continue
        for aggfunc in AGGFUNCS:
            clock = time.process_time()
            researchers, _ = crosstab_verdict(
                generated.data,
                index=generated.index,
                columns=generated.columns,
                values=None if aggfunc == "count" else generated.values,
                aggfunc=aggfunc,
                thresholds=generated.thresholds,
            )
            tally["seconds ACRO crosstab sample (cpu)"] += time.process_time() - clock
            tally["tables also asked through ACRO's crosstab"] += 1
            if researchers.failing != literal(verdicts[-1][aggfunc]):
                problems.append(
                    f"{generated.describe()}, aggfunc={aggfunc!r}: "
                    "ACRO's crosstab and its check engine disagree"
                )
    return verdicts, problems, tally


def evalink_of_seed(seed: int, seconds: Counter[str]) -> list[tuple[SafeTable, SafeTable | None]]:
    """evalink's tables for one seed, count, sum and mean: without margins, and for the
    sampled seeds with margins too."""
    generated = synthetic_table(seed)
    thresholds = Thresholds(**generated.thresholds)
    tables: list[tuple[SafeTable, SafeTable | None]] = []
    for aggfunc in AGGFUNCS:
        spec = TableSpec(
            index=generated.index,
            columns=generated.columns,
            values=None if aggfunc == "count" else generated.values,
            aggfunc=aggfunc,
            unit=None,
            margins=False,
        )
        clock = time.process_time()
        result = safe_table(generated.data, thresholds, spec)
        seconds["seconds evalink (cpu)"] += time.process_time() - clock
        with_margins = None
        if seed % MARGINS_SAMPLE_EVERY == 0:
            clock = time.process_time()
            with_margins = safe_table(generated.data, thresholds, replace(spec, margins=True))
            seconds["seconds evalink with margins (cpu)"] += time.process_time() - clock
        tables.append((result, with_margins))
    return tables


def test_acro_and_safe_table_agree_on_every_cell_of_a_thousand_generated_tables(record_property):
    started = time.perf_counter()
    agreement = Agreement()
    seconds: Counter[str] = Counter()
    chunks = [list(range(i, min(i + CHUNK, DATASETS))) for i in range(0, DATASETS, CHUNK)]
    # ACRO and evalink take about the same CPU time for these tables, so ACRO runs in a
    # second process (spawned: a forked copy of a test process may hold others' threads)
    # and the test takes the longer of the two rather than their sum, on two cores.
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        pending = [pool.submit(acro_of_seeds, chunk) for chunk in chunks]
        for chunk, future in zip(chunks, pending, strict=True):
            evalink = {seed: evalink_of_seed(seed, seconds) for seed in chunk}
            verdicts, problems, acro_tally = future.result()
            agreement.problems.extend(problems)
            seconds.update(acro_tally)
            for seed, acro in zip(chunk, verdicts, strict=True):
                generated = synthetic_table(seed)
                for aggfunc, (result, with_margins) in zip(AGGFUNCS, evalink[seed], strict=True):
                    where = f"{generated.describe()}, aggfunc={aggfunc!r}"
                    agreement.tally["tables"] += 1
                    agreement.tally[f"tables with {len(generated.index)} index columns"] += 1
                    agreement.tally["tables with negative costs"] += (
                        generated.has_negatives and aggfunc != "count"
                    )
                    agreement.compare(where, acro[aggfunc], result)
                    if with_margins is not None:
                        agreement.compare(f"{where}, margins=True", acro[aggfunc], with_margins)
                        agreement.compare_margins(where, result, with_margins)

    figures = {
        **agreement.tally,
        **{f"cells failing {rule}": n for rule, n in sorted(agreement.rules.items())},
        "mismatches": len(agreement.problems),
        **{part: round(n, 1) if isinstance(n, float) else n for part, n in seconds.items()},
        "seconds (wall)": round(time.perf_counter() - started, 1),
        "acro": ACRO_VERSION,
    }
    for name, value in figures.items():
        record_property(name, value)
    print("ACRO agreement:", figures)
    assert not agreement.problems, (
        f"{len(agreement.problems)} disagreements between evalink and ACRO {ACRO_VERSION} "
        "(reproduce with synthetic_table(seed)):\n" + agreement.report()
    )
    # An agreement that held because nothing failed, or nothing was published, or nothing
    # was rounded or secondarily suppressed, would prove nothing: each is seen.
    assert agreement.tally["tables"] >= 1000
    for rule in ("threshold", "zero", "dominance", "p-ratio", "negative"):
        assert agreement.rules[rule] > 0, f"no generated cell fails {rule!r}"
    for n in (1, 2, 3):
        assert agreement.tally[f"tables with {n} index columns"] > 0
    assert agreement.tally["published cells"] > 0
    assert agreement.tally["stricter by design: rounding"] > 0
    for aggfunc in AGGFUNCS:
        assert agreement.tally[f"secondary cells in {aggfunc} tables"] > 0


# --- the command --------------------------------------------------------------------------


def test_evalink_table_agrees_with_acro_at_the_example_policys_thresholds(
    tmp_path_factory, evalink
):
    """The same agreement through `evalink table` (the researcher's command), whose
    thresholds are the policy's: the ones ACRO is given must be the same."""
    from evalink.policy import load_policy

    policy = load_policy(EXAMPLE_POLICY)
    thresholds = Thresholds.for_party(policy, "public")
    assert {name: getattr(thresholds, name) for name in POLICY_RULES} == POLICY_RULES
    work = tmp_path_factory.mktemp("command")
    agreement = Agreement()
    for seed in (1, 2, 5, 7):
        generated = synthetic_table(seed)
        rows_csv = work / f"rows-{seed}.csv"
        generated.data.to_csv(rows_csv, index=False)
        acro = acro_verdicts(
            generated.data,
            index=generated.index,
            columns=generated.columns,
            values=generated.values,
            aggfuncs=AGGFUNCS,
            thresholds=POLICY_RULES,
        )
        for aggfunc in AGGFUNCS:
            out = work / f"table-{seed}-{aggfunc}.csv"
            magnitude = () if aggfunc == "count" else ("--values", generated.values)
            ran = evalink(
                "table", "--policy", EXAMPLE_POLICY, "--data", rows_csv,
                "--index", ",".join(generated.index), "--columns", generated.columns,
                *magnitude, "--aggfunc", aggfunc, "--no-margins", "--out", out,
            )  # fmt: skip
            assert ran.exit_code == 0, ran.output
            checks = pd.read_csv(
                out.with_name(f"{out.stem}.checks.csv"), dtype=str, keep_default_na=False
            )
            dims = [*generated.index, generated.columns]
            evalink_rules = {
                tuple(row[d] for d in dims): (row["status"], rule_set(row["rules"]))
                for row in checks.to_dict("records")
            }
            where = f"{generated.describe()} at the policy's thresholds, aggfunc={aggfunc!r}"
            if set(evalink_rules) != set(acro[aggfunc].failing):
                agreement.problem(where, "the command's cells are not ACRO's")
                continue
            for key, acro_rules in acro[aggfunc].failing.items():
                status, rules = evalink_rules[key]
                expected = Status.SUPPRESSED_PRIMARY if acro_rules else Status.PUBLISHED
                if status != expected or rules != acro_rules:
                    agreement.problem(
                        where,
                        f"cell {key}: ACRO {sorted(acro_rules)}, evalink {status} {sorted(rules)}",
                    )
                agreement.tally["cells"] += 1
    assert not agreement.problems, agreement.report()
    assert agreement.tally["cells"] > 100
