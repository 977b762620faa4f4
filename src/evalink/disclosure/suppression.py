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
consistent with everything still published, so the cell's interval holds them and is
wide enough. Suppressing only widens intervals (it takes known terms out of the
equations), so a cell once protected stays protected, and every value of the table an
intruder could not rule out under one pattern stays possible under any larger one. The
loop ends because each step suppresses at least one more cell, and a table with
everything suppressed protects every cell.

Most cells are shown protected without a programme of their own: any two values of the
table consistent with what is published (the true one, and those the programmes find)
that differ in a cell by `needed` prove that cell protected.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix, hstack, identity, vstack

Key = tuple[str, ...]

# Relative slack for comparing widths computed by a floating-point solver.
TOLERANCE = 1e-6
# Changing a published total to protect a cell costs this many times changing a cell of
# the same value: researchers read totals first, so complements come from the interior.
TOTAL_COST = 10.0
GRAND_TOTAL_COST = 100.0
# Programmes pushing many cells apart at once, per suppression pattern, before each
# remaining cell gets programmes of its own.
PUSHES = 4


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
        return _wide_enough(self.high - self.low, self.needed)


def _wide_enough(width: float, needed: float) -> bool:
    return bool(width >= needed * (1 - TOLERANCE) - TOLERANCE)


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

    @cached_property
    def equations(self) -> csc_matrix:
        """One row per total: total - sum of its parts = 0 (sparse: a table of thousands
        of cells has a few entries per column)."""
        rows, columns, entries = [], [], []
        for row, (total, parts) in enumerate(self.totals):
            rows += [row] * (len(parts) + 1)
            columns += [total, *parts]
            entries += [1.0] + [-1.0] * len(parts)
        shape = (len(self.totals), len(self.cells))
        return coo_matrix((entries, (rows, columns)), shape=shape).tocsc()

    @cached_property
    def scale(self) -> float:
        # The solver's tolerances are absolute: solve in units of the largest cell.
        finite = np.abs(self.value[np.isfinite(self.value)])
        return float(max(1.0, finite.max())) if finite.size else 1.0


class _Attack:
    """The intruder's linear programmes under one suppression pattern, in units of the
    table's largest cell: the suppressed cells are the unknowns, the published ones
    known terms of the equations."""

    def __init__(self, relations: Relations, suppressed: np.ndarray) -> None:
        self.relations = relations
        self.hidden = np.flatnonzero(suppressed)
        scale = relations.scale
        self.value = relations.value / scale
        self.lower = relations.lower / scale
        matrix = relations.equations
        known = -(matrix[:, np.flatnonzero(~suppressed)] @ self.value[~suppressed])
        unknown = matrix[:, self.hidden].tocsr()
        # An equation with no suppressed cell left says nothing about the suppressed ones.
        useful = np.flatnonzero(unknown.getnnz(axis=1) > 0)
        self.unknown = unknown[useful]
        self.known = known[useful]
        self.bounds = [
            (self.lower[i] if np.isfinite(self.lower[i]) else None, None) for i in self.hidden
        ]
        self.linked = self.unknown.getnnz(axis=0) > 0

    def solve(
        self, objective: np.ndarray, bounds: list[tuple[float | None, float | None]] | None = None
    ) -> tuple[int, np.ndarray | None]:
        """(HiGHS status, the suppressed cells' values at the optimum, or None)."""
        if self.unknown.shape[0] == 0:
            return (3 if np.any(objective) else 0), None
        result = linprog(
            objective,
            A_eq=self.unknown,
            b_eq=self.known,
            bounds=bounds or self.bounds,
            method="highs",
        )
        if result.status not in (0, 3):
            # The true values satisfy every equation: a failure here is a bug, not data.
            raise RuntimeError(f"suppression audit: linear programme failed ({result.message})")
        return result.status, (result.x if result.status == 0 else None)

    def extreme(self, position: int, sign: float) -> tuple[float, np.ndarray | None]:
        """The least (sign 1) or greatest (sign -1) value of one suppressed cell."""
        if not self.linked[position]:
            end = self.bounds[position][0] if sign > 0 else None
            return (-np.inf if end is None else end) if sign > 0 else np.inf, None
        objective = np.zeros(self.hidden.size)
        objective[position] = sign
        _, x = self.solve(objective)
        if x is None:
            return -sign * np.inf, None
        return float(x[position]), x


def intervals(
    relations: Relations, suppressed: np.ndarray, which: Collection[int] | None = None
) -> dict[int, tuple[float, float]]:
    """(low, high) of every suppressed cell (or of those in `which`), by linear
    programming: each end is a programme's optimum, or a bound (a cell's floor, or what
    an equation with a published total leaves it) that a value of the table consistent
    with what is published is seen to reach."""
    suppressed = np.asarray(suppressed, dtype=bool)
    attack = _Attack(relations, suppressed)
    scale = relations.scale
    wanted = [p for p, cell in enumerate(attack.hidden) if which is None or int(cell) in which]
    floor = np.array([b[0] if b[0] is not None else -np.inf for b in attack.bounds])
    ceiling = _ceilings(attack)
    # The true values are one such value of the table; the programmes find others.
    seen_low = attack.value[attack.hidden].copy()
    seen_high = seen_low.copy()

    def see(x: np.ndarray | None) -> None:
        if x is not None:
            np.minimum(seen_low, x, out=seen_low)
            np.maximum(seen_high, x, out=seen_high)

    if len(wanted) > 1:
        # Two programmes for many cells: all pushed down to their floors at once, then
        # all up to their ceilings.
        floored, capped = np.isfinite(floor), np.isfinite(ceiling)
        see(attack.solve(floored.astype(float))[1])
        if capped.any():
            bounds = [
                (b[0], ceiling[p] if capped[p] else None) for p, b in enumerate(attack.bounds)
            ]
            see(attack.solve(-capped.astype(float), bounds)[1])
    answer: dict[int, tuple[float, float]] = {}
    for p in wanted:
        if np.isfinite(floor[p]) and seen_low[p] <= floor[p] + TOLERANCE:
            low = float(floor[p])
        else:
            low, x = attack.extreme(p, 1.0)
            see(x)
        if np.isfinite(ceiling[p]) and seen_high[p] >= ceiling[p] - TOLERANCE:
            high = float(ceiling[p])
        else:
            high, x = attack.extreme(p, -1.0)
            see(x)
        answer[int(attack.hidden[p])] = (low * scale, high * scale)
    return answer


def _ceilings(attack: _Attack) -> np.ndarray:
    """For each suppressed cell, the least of what an equation whose total is published
    leaves it once the other parts are at their least (inf where none applies). Every
    value of the table consistent with what is published stays under these."""
    ceiling = np.full(attack.hidden.size, np.inf)
    floors = np.array([b[0] if b[0] is not None else -np.inf for b in attack.bounds])
    matrix = attack.unknown
    for row, rhs in enumerate(attack.known):
        entries = matrix.data[matrix.indptr[row] : matrix.indptr[row + 1]]
        columns = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        # total - parts = known: with the total published, parts sum to -known.
        parts = columns[entries < 0]
        if np.any(entries > 0) or parts.size == 0:
            continue
        rest = floors[parts].sum()
        if not np.isfinite(rest):
            continue
        for p in parts:
            ceiling[p] = min(ceiling[p], -rhs - (rest - floors[p]))
    return ceiling


class _Seen:
    """The range of values seen for each cell across values of the table consistent with
    what is published: the true ones to begin with, then the programmes' optima. A cell
    whose range is `needed` wide is protected, whatever else is suppressed later."""

    def __init__(self, relations: Relations) -> None:
        self.needed = relations.needed / relations.scale
        self.low = relations.value / relations.scale
        self.high = self.low.copy()

    def see(self, attack: _Attack, x: np.ndarray | None) -> None:
        if x is not None:
            cells = attack.hidden
            self.low[cells] = np.minimum(self.low[cells], x)
            self.high[cells] = np.maximum(self.high[cells], x)

    def proven(self, cell: int) -> bool:
        return _wide_enough(self.high[cell] - self.low[cell], self.needed[cell])

    def unproven(self, attack: _Attack) -> list[int]:
        """Positions among `attack.hidden` of the cells not yet proven protected."""
        cells = attack.hidden
        width, needed = self.high[cells] - self.low[cells], self.needed[cells]
        return [int(p) for p in np.flatnonzero(~(width >= needed * (1 - TOLERANCE) - TOLERANCE))]


def protect(relations: Relations, primary: np.ndarray) -> np.ndarray:
    """The cells to suppress, secondary ones added, so that every suppressed cell's
    interval is at least its `needed` wide. `primary` is a boolean mask of the cells."""
    suppressed = np.asarray(primary, dtype=bool).copy()
    if not relations.totals:
        return suppressed
    scale = relations.scale
    seen = _Seen(relations)
    while True:
        attack = _Attack(relations, suppressed)
        todo = seen.unproven(attack)
        # Cells compete for what the published totals leave them, so one push proves
        # some; push again (a few times) while pushing proves more.
        for _ in range(PUSHES):
            if not todo:
                break
            _push_apart(attack, todo, seen)
            still = seen.unproven(attack)
            if len(still) == len(todo):
                break
            todo = still
        changed = False
        touched = np.zeros(relations.equations.shape[0], dtype=bool)
        for p in todo:
            cell = int(attack.hidden[p])
            if seen.proven(cell):
                continue
            lines = _lines(relations, cell)
            if touched[lines].any():
                continue  # what was just suppressed may protect it: next pattern
            # The true value is the least a cell can be when it is at its floor.
            floor = attack.bounds[p][0]
            if floor is not None and seen.low[cell] <= floor + TOLERANCE:
                low = floor
            else:
                low, x = attack.extreme(p, 1.0)
                seen.see(attack, x)
            high, x = attack.extreme(p, -1.0)
            seen.see(attack, x)
            if _wide_enough(high - low, seen.needed[cell]):
                seen.low[cell], seen.high[cell] = low, high  # unbounded ends have no optimum
                continue
            complements = _complements(relations, suppressed, cell, low * scale, high * scale)
            if not complements:
                # Nothing to suppress, yet narrow (tolerances): suppress everything still
                # published rather than publish what narrows the cell (everything hidden
                # protects all).
                suppressed[:] = True
                return suppressed
            suppressed[complements] = True
            for other in complements:
                touched[_lines(relations, other)] = True
            changed = True
        if not changed:
            return suppressed


def _lines(relations: Relations, cell: int) -> np.ndarray:
    """The equations (rows, columns, totals) a cell is in."""
    matrix = relations.equations
    return matrix.indices[matrix.indptr[cell] : matrix.indptr[cell + 1]]


def _push_apart(attack: _Attack, todo: list[int], seen: _Seen) -> None:
    """Two programmes for many cells at once: every unproven cell pushed up to `needed`
    above the least value seen of it, then down to `needed` below the greatest; each
    optimum is a value of the table consistent with what is published."""
    cells = attack.hidden[todo]
    weight = 1.0 / np.maximum(seen.needed[cells], TOLERANCE)
    for sign in (-1.0, 1.0):  # up (minimising minus the cells), then down
        objective = np.zeros(attack.hidden.size)
        objective[todo] = sign * weight
        bounds = list(attack.bounds)
        for p, cell in zip(todo, cells, strict=True):
            floor = bounds[p][0]
            if sign < 0:
                bounds[p] = (floor, seen.low[cell] + seen.needed[cell])
            else:
                target = seen.high[cell] - seen.needed[cell]
                bounds[p] = (target if floor is None else max(floor, target), None)
        seen.see(attack, attack.solve(objective, bounds)[1])


def _complements(
    relations: Relations,
    suppressed: np.ndarray,
    cell: int,
    low: float,
    high: float,
) -> list[int]:
    """The published cells that must change for `cell` to reach `low + needed` (or
    `high - needed`), at the least cost: those to suppress next."""
    scale = relations.scale
    value, lower = relations.value / scale, relations.lower / scale
    needed = float(relations.needed[cell]) / scale
    low, high = low / scale, high / scale
    n = len(relations.cells)
    published = np.flatnonzero(~suppressed)
    k = published.size
    matrix = relations.equations
    # Variables: every cell's value y, then for each published cell how far up (dp)
    # and down (dm) it moves from its true value: y - dp + dm = true value.
    chosen = coo_matrix((np.ones(k), (np.arange(k), published)), shape=(k, n))
    moves = identity(k, format="csr")
    equalities = vstack(
        [
            hstack([matrix, csr_matrix((matrix.shape[0], 2 * k))]),
            hstack([chosen, -moves, moves]),
        ],
        format="csr",
    )
    rhs = np.concatenate([np.zeros(matrix.shape[0]), value[published]])
    price = (np.abs(value[published]) + 0.01) * relations.weight[published]
    objective = np.concatenate([np.zeros(n), price, price])
    base_bounds = [(lower[i] if np.isfinite(lower[i]) else None, None) for i in range(n)]
    base_bounds += [(0.0, None)] * (2 * k)

    best: tuple[float, np.ndarray] | None = None
    targets = [("up", low + needed)]
    if np.isfinite(high) and high - needed >= lower[cell]:
        targets.append(("down", high - needed))
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
    cut = TOLERANCE * max(needed, TOLERANCE)
    return [int(published[p]) for p in np.flatnonzero(moved > cut)]
