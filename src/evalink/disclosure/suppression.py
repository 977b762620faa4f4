"""Secondary suppression, and the linear-programming audit that shows it holds.

A table with margins is a set of equations an intruder can solve: every row total is
the sum of its row's cells, every column total the sum of its column's, the grand total
the sum of either. Publish all of a row but one cell and its total, and the missing cell
is a subtraction away. The audit asks, for each suppressed cell, the smallest and the
largest value it could have given everything published with it (published cells exactly
as they are before rounding, the equations, and non-negativity where the contributors
are non-negative): a linear programme each way, solved by SciPy's HiGHS. The cell is
protected when that interval is at least `needed` wide.

Secondary suppression goes the other way round. For a suppressed cell whose interval is
too narrow, a second linear programme looks for values of the whole table that satisfy
every equation and move the cell by `needed` (up or down, whichever is cheaper), paying
for every published cell it has to change in proportion to its value and how far it
moves it (totals cost more, so complements are found among the interior cells first).
The published cells that had to change are suppressed too: the values found are then
consistent with everything still published, so the interval now holds them and is wide
enough. Suppressing only widens intervals (it removes equations' known terms), so a cell
once protected stays protected; each suppressed cell, primary or secondary, is checked
once, and the loop ends because each step suppresses at least one more cell and a table
with everything suppressed protects every cell.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

Key = tuple[str, ...]

# Relative slack for comparing widths computed by a floating-point solver.
TOLERANCE = 1e-6
# Changing a published total to protect a cell costs this many times changing a cell of
# the same value: researchers read totals first, so complements come from the interior.
TOTAL_COST = 10.0
GRAND_TOTAL_COST = 100.0


@dataclass(frozen=True)
class Interval:
    """The values a suppressed cell could take given what is published with it."""

    cell: Key
    low: float
    high: float
    needed: float  # the width the cell needs: high - low must be at least this

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def protected(self) -> bool:
        return self.width >= self.needed * (1 - TOLERANCE) - TOLERANCE


@dataclass(frozen=True)
class Relations:
    """What an intruder can compute with: every cell's true value (a count, or a sum —
    for a table of means, the sums of the same cells), the least value it could have,
    the protection it needs if suppressed, and which cells add up to which."""

    cells: tuple[Key, ...]
    value: np.ndarray
    lower: np.ndarray  # 0, or -inf where a contributor is negative
    needed: np.ndarray
    totals: tuple[tuple[int, tuple[int, ...]], ...]  # (total cell, the cells it adds up)
    weight: np.ndarray  # how much a total counts against changing it (1 for a cell)

    def equations(self) -> np.ndarray:
        """One row per total: total - sum of its parts = 0."""
        matrix = np.zeros((len(self.totals), len(self.cells)))
        for row, (total, parts) in enumerate(self.totals):
            matrix[row, list(parts)] = -1.0
            matrix[row, total] = 1.0
        return matrix

    @property
    def scale(self) -> float:
        # The solver's tolerances are absolute: solve in units of the largest cell.
        finite = np.abs(self.value[np.isfinite(self.value)])
        return float(max(1.0, finite.max())) if finite.size else 1.0


def intervals(
    relations: Relations, suppressed: np.ndarray, which: Collection[int] | None = None
) -> dict[int, tuple[float, float]]:
    """(low, high) of every suppressed cell (or of those in `which`), by linear
    programming."""
    suppressed = np.asarray(suppressed, dtype=bool)
    hidden = np.flatnonzero(suppressed)
    answer: dict[int, tuple[float, float]] = {}
    if hidden.size == 0:
        return answer
    scale = relations.scale
    value, lower = relations.value / scale, relations.lower / scale
    matrix = relations.equations()
    # Published cells are known: move them to the right-hand side. An equation with no
    # suppressed cell left says nothing about the suppressed ones.
    known = -matrix[:, ~suppressed] @ value[~suppressed]
    unknown = matrix[:, hidden]
    useful = np.any(unknown != 0, axis=1)
    unknown, known = unknown[useful], known[useful]
    # Cells linked by no equation cannot narrow each other: solve each group alone.
    adjacency = csr_matrix((np.abs(unknown).T @ np.abs(unknown)) > 0)
    _, group = connected_components(adjacency, directed=False)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        rows = np.flatnonzero(np.any(unknown[:, members] != 0, axis=1))
        bounds = [(lower[hidden[m]] if np.isfinite(lower[hidden[m]]) else None, None)
                  for m in members]
        for position, m in enumerate(members):
            cell = int(hidden[m])
            if which is not None and cell not in which:
                continue
            if rows.size == 0:
                answer[cell] = (float(relations.lower[cell]), float("inf"))
                continue
            ends = []
            for sign in (1.0, -1.0):  # minimise, then maximise
                objective = np.zeros(len(members))
                objective[position] = sign
                result = linprog(
                    objective,
                    A_eq=unknown[np.ix_(rows, members)],
                    b_eq=known[rows],
                    bounds=bounds,
                    method="highs",
                )
                if result.status == 3:  # unbounded that way
                    ends.append(-sign * float("inf"))
                elif result.status == 0:
                    ends.append(float(result.x[position]) * scale)
                else:
                    # The true values satisfy every equation, so this is a bug, not data.
                    raise RuntimeError(f"suppression audit: linear programme failed ({result.message})")
            answer[cell] = (ends[0], ends[1])
    return answer


def protect(relations: Relations, primary: np.ndarray) -> np.ndarray:
    """The cells to suppress, secondary ones added, so that every suppressed cell's
    interval is at least its `needed` wide. `primary` is a boolean mask of the cells."""
    suppressed = np.asarray(primary, dtype=bool).copy()
    if not relations.totals:
        return suppressed
    queue = deque(np.flatnonzero(suppressed))
    while queue:
        cell = queue.popleft()
        low, high = _interval_of(relations, suppressed, cell)
        needed = float(relations.needed[cell])
        if Interval((), low, high, needed).protected:
            continue
        complements = _complements(relations, suppressed, cell, low, high, needed)
        if not complements:
            # Tolerances left nothing to suppress: suppress everything still published
            # rather than publish what narrows the cell (everything hidden protects all).
            complements = [int(i) for i in np.flatnonzero(~suppressed)]
        suppressed[complements] = True
        queue.extend(complements)
        queue.append(cell)  # checked again: the tolerance must not hide a narrow interval
    return suppressed


def _interval_of(
    relations: Relations, suppressed: np.ndarray, cell: int
) -> tuple[float, float]:
    return intervals(relations, suppressed, {cell})[cell]


def _complements(
    relations: Relations,
    suppressed: np.ndarray,
    cell: int,
    low: float,
    high: float,
    needed: float,
) -> list[int]:
    """The published cells that must change for `cell` to reach `low + needed` (or
    `high - needed`), at the least cost: those to suppress next."""
    scale = relations.scale
    value, lower = relations.value / scale, relations.lower / scale
    n = len(relations.cells)
    published = np.flatnonzero(~suppressed)
    k = published.size
    matrix = relations.equations()
    # Variables: every cell's value y, then for each published cell how far up (dp)
    # and down (dm) it moves from its true value.
    equalities = np.zeros((matrix.shape[0] + k, n + 2 * k))
    equalities[: matrix.shape[0], :n] = matrix
    for position, j in enumerate(published):
        equalities[matrix.shape[0] + position, j] = 1.0
        equalities[matrix.shape[0] + position, n + position] = -1.0
        equalities[matrix.shape[0] + position, n + k + position] = 1.0
    rhs = np.concatenate([np.zeros(matrix.shape[0]), value[published]])
    price = (np.abs(value[published]) + 0.01) * relations.weight[published]
    objective = np.concatenate([np.zeros(n), price, price])
    base_bounds = [(lower[i] if np.isfinite(lower[i]) else None, None) for i in range(n)]
    base_bounds += [(0.0, None)] * (2 * k)

    best: tuple[float, np.ndarray] | None = None
    targets = [("up", (low + needed) / scale)]
    if np.isfinite(high) and high - needed >= relations.lower[cell]:
        targets.append(("down", (high - needed) / scale))
    for direction, target in targets:
        bounds = list(base_bounds)
        floor, _ = bounds[cell]
        bounds[cell] = (target, None) if direction == "up" else (floor, target)
        result = linprog(objective, A_eq=equalities, b_eq=rhs, bounds=bounds, method="highs")
        if result.status == 0 and (best is None or result.fun < best[0]):
            best = (float(result.fun), result.x)
    if best is None:
        return []
    moved = best[1][n : n + k] + best[1][n + k :]
    cut = TOLERANCE * max(needed / scale, TOLERANCE)
    return [int(published[p]) for p in np.flatnonzero(moved > cut)]
