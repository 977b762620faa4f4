"""Random synthetic tables for checking disclosure control against an oracle.

    table = synthetic_table(seed=7)
    table.data          # row-level frame: index columns, the column column, "cost"
    table.index         # 1 to 3 index columns
    table.thresholds    # the rules to check it with (Thresholds' field names)

The shapes are the ones disclosure rules are about: category frequencies skewed as real
ones are (a few big areas, a long tail), so that many cells hold 1 to 15 rows and the
threshold falls inside the table; combinations no one is in (zeros); costs where one or
two contributors dwarf the rest (dominance, p-ratio); refunds (negative values) in a few
tables; cells built to sit exactly on the nk and p-ratio boundaries, where an oracle and
an implementation that compare differently (> against >=) part ways.

`synthetic_table(seed)` is plain seeded numpy, fast enough for a thousand tables per test
run, and a failing seed reproduces the table exactly. `synthetic_tables()` is the same
generator as a Hypothesis strategy, for properties that want shrinking of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

# Domain-flavoured dimension names; which are used, and how many categories each has,
# is drawn per table.
INDEX_NAMES = ("area", "family_type", "age_band")
COLUMN_NAME = "headline_problem"
VALUE_NAME = "cost"
MAX_CELLS = 36


@dataclass(frozen=True)
class SyntheticTable:
    seed: int
    data: pd.DataFrame
    index: tuple[str, ...]
    columns: str
    values: str
    # Thresholds' fields, as keyword arguments, so that this module needs nothing from
    # evalink: min_count, zeros_disclosive, nk_n, nk_k, p_ratio, rounding_base.
    thresholds: dict[str, Any]
    has_negatives: bool

    def describe(self) -> str:
        """One line to reproduce a failure: the seed and the table's shape and rules."""
        return (
            f"synthetic_table(seed={self.seed}): {len(self.data)} rows, index={list(self.index)}, "
            f"columns={self.columns!r}, thresholds={self.thresholds}"
        )


def random_thresholds(rng: np.random.Generator) -> dict[str, Any]:
    """Mostly the policy's own rules (10, 2/90%, 10%, base 5, zeros disclosive), often
    varied, so that agreement does not hold only at one setting."""
    if rng.random() < 0.4:
        return {
            "min_count": 10,
            "zeros_disclosive": True,
            "nk_n": 2,
            "nk_k": 90.0,
            "p_ratio": 10.0,
            "rounding_base": 5,
        }
    return {
        "min_count": int(rng.choice([3, 5, 10, 10, 15, 20])),
        "zeros_disclosive": bool(rng.random() < 0.75),
        "nk_n": int(rng.choice([1, 2, 2, 3])),
        "nk_k": float(rng.choice([50.0, 75.0, 85.0, 90.0, 95.0])),
        "p_ratio": float(rng.choice([5.0, 10.0, 10.0, 20.0, 25.0])),
        "rounding_base": int(rng.choice([1, 3, 5, 5, 10])),
    }


def _zipf(rng: np.random.Generator, k: int) -> np.ndarray:
    # Zipf-like with a drawn exponent: from nearly even (0.3) to one category holding
    # most rows (2.0); shuffled so the big category is not always the first label.
    weights = 1.0 / np.arange(1, k + 1) ** rng.uniform(0.3, 2.0)
    rng.shuffle(weights)
    return weights / weights.sum()


def _costs(rng: np.random.Generator, size: int, integer: bool) -> np.ndarray:
    # Costs are right-skewed (lognormal, median ~£400); a tenth are zero (no service).
    costs = rng.lognormal(mean=6.0, sigma=1.0, size=size)
    costs[rng.random(size) < 0.1] = 0.0
    return np.round(costs) if integer else np.round(costs, 2)


def synthetic_table(seed: int) -> SyntheticTable:
    rng = np.random.default_rng(seed)
    n_index = int(rng.integers(1, 4))
    index = INDEX_NAMES[:n_index]
    dims = (*index, COLUMN_NAME)
    # Fewer categories per dimension the more dimensions there are, and at most
    # MAX_CELLS cells, as the tables researchers ask for have (and each cell costs ACRO
    # a few milliseconds of pandas, a thousand tables over).
    most = {1: 6, 2: 4, 3: 3}[n_index]
    sizes = [int(rng.integers(2, most + 1)) for _ in dims]
    while np.prod(sizes) > MAX_CELLS:
        sizes[int(np.argmax(sizes))] -= 1
    labels = {
        name: [f"{name[:2]}{i}" for i in range(k)] for name, k in zip(dims, sizes, strict=True)
    }
    marginals = {name: _zipf(rng, len(labels[name])) for name in dims}

    cells = list(product(*(range(len(labels[name])) for name in dims)))
    # Expected rows per cell: independent skewed marginals times a table-wide size drawn
    # so that the mean cell lies anywhere from 2 to 40 rows: the threshold is inside.
    mean_cell = float(np.exp(rng.uniform(np.log(2.0), np.log(40.0))))
    scale = mean_cell * len(cells)
    expected = np.array(
        [
            scale * np.prod([marginals[name][i] for name, i in zip(dims, cell, strict=True)])
            for cell in cells
        ]
    )
    counts = rng.poisson(expected)
    # Structural zeros: combinations no one is in whatever the size (a family type that
    # does not occur in an area), not only the ones the skew leaves empty.
    if rng.random() < 0.5:
        absent = rng.random(len(cells)) < rng.uniform(0.05, 0.3)
        counts[absent] = 0
    if counts.sum() == 0:
        counts[int(np.argmax(expected))] = 1

    integer = bool(rng.random() < 0.7)
    rows: list[tuple[int, ...]] = []
    values: list[np.ndarray] = []
    for cell, count in zip(cells, counts, strict=True):
        if count == 0:
            continue
        rows.extend([cell] * int(count))
        cell_values = _costs(rng, int(count), integer)
        roll = rng.random()
        if roll < 0.15:
            # One contributor dwarfs the cell: a residential placement among home visits.
            cell_values[int(rng.integers(count))] = float(rng.integers(20_000, 500_000))
        elif roll < 0.22 and count >= 2:
            # Two dwarf it: each can estimate the other (p-ratio), and nk with n=2.
            top = rng.choice(count, size=2, replace=False)
            cell_values[top] = rng.integers(20_000, 500_000, size=2).astype(float)
        elif roll < 0.27 and count >= 3:
            cell_values = _on_a_boundary(rng, int(count))
        values.append(cell_values)

    data = pd.DataFrame(
        {name: [labels[name][cell[d]] for cell in rows] for d, name in enumerate(dims)}
    )
    cost = np.concatenate(values)
    has_negatives = bool(rng.random() < 0.08)
    if has_negatives:
        # Refunds: a few rows below zero, in a few cells, as a cost ledger has them.
        refunds = rng.random(len(cost)) < 0.03
        refunds[int(rng.integers(len(cost)))] = True
        cost[refunds] = -np.abs(cost[refunds]) - 1.0
    data[VALUE_NAME] = cost.astype(np.int64) if integer else cost
    # Row order must not matter to either side; shuffle so that it cannot.
    data = data.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    return SyntheticTable(
        seed=seed,
        data=data,
        index=index,
        columns=COLUMN_NAME,
        values=VALUE_NAME,
        thresholds=random_thresholds(rng),
        has_negatives=has_negatives,
    )


def _on_a_boundary(rng: np.random.Generator, count: int) -> np.ndarray:
    """A cell on a rule's edge at the policy's setting, in integers so that both sides see
    exact ratios: the two largest exactly 90% of the total (nk 2/90%: at 90% it fails),
    or the rest exactly 10% of the largest (p-ratio 10%: at 10% it passes)."""
    rest = count - 2
    share = int(rng.integers(1, 50))
    small = np.full(rest, float(share))
    total_rest = float(rest * share)
    if rng.random() < 0.5:
        return np.concatenate([[5 * total_rest, 4 * total_rest], small])
    return np.concatenate([[10 * total_rest, total_rest], small])


@st.composite
def synthetic_tables(draw: st.DrawFn) -> SyntheticTable:
    """The generator as a Hypothesis strategy; shrinking moves toward small seeds."""
    return synthetic_table(draw(st.integers(min_value=0, max_value=2**32 - 1)))
