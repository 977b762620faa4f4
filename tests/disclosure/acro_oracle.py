"""ACRO as an oracle: which cells of a table ACRO (1.0.x) says fail, and by which rule.

    verdicts = acro_verdicts(data, index=("area",), columns="headline_problem",
                             values="cost", aggfuncs=("count", "sum", "mean"),
                             thresholds={"min_count": 10, "nk_n": 2, ...})
    verdicts["sum"].failing[("ar0", "he1")]   # frozenset({"threshold", "dominance"})

How ACRO is asked, and why (read from acro 1.0.2's code):

- Thresholds. `ACRO(config=...)` only reads a yaml file next to ACRO's own module, so the
  session is made with the default config and its risk appetite set in place: `ACRO.config`
  is the very dict `SDCChecks.risk_appetite` holds and every `TableModelDetails` is given
  (acro.py `ACRO.__init__`, acro_tables.py `crosstab`). ACRO's k and p are fractions
  (default.yaml: safe_nk_k 0.90, safe_pratio_p 0.10); evalink's are percent.

- Two ways in, the same checks. `crosstab_verdict` is the researcher's way:
  `ACRO(suppress=False).crosstab(...)`, then the recorded output's `outcome` (a frame shaped
  like the table whose cells are "ok" or the failing checks' names joined by "; ",
  table_utils.collate_risk_assessments) and `fair["check_status"]`. `acro_verdicts` goes
  one level down, to what `crosstab` itself calls (acro_tables.Tables._process_table_output):
  a `TableModelDetails`, `SDCChecks.get_evidence_forall_analyses` once for all the analyses
  asked for (as crosstab does for a list of aggfuncs), then `run_checks_for_analysis` per
  analysis, reading each check's boolean mask. It skips crosstab's collation into strings
  (half a count table's time) and computes the evidence once for a count, a sum and a mean
  table over the same rows (their checks read the same evidence: count_table, sum, max,
  top_n_sum, top_2_sum, num_negative). The agreement test runs both on a sample of tables
  and asserts they give the same verdicts, so the faster way cannot drift from ACRO's own.

- Negative values. As soon as any cell of a magnitude table holds a negative value, ACRO's
  NKCheck and PPercentCheck return "review" with the mask of the cells holding negatives
  in place of their dominance masks (sdcchecks.check_nk_dominance,
  check_ppercent_dominance): the other cells' dominance is not checked at all. Those masked
  cells are evalink's "negative". For the other cells the oracle asks ACRO again on their
  rows alone (a cell's dominance depends on its own contributors only) and says which
  cells it did that for (`dominance_asked_separately`); ACRO's literal answer for them is
  "not checked", which a release would pass.

- Speed. ACRO formats its interim tables for debug logging with f-strings
  (`logger.debug(f"...{table}")`: sdcchecks.populate_from_list, tablemodeldetails,
  table_utils), which pandas renders whatever the log level, and reads the caller's source
  line through `inspect.stack()` (acro_tables.crosstab). Those were 60% of a crosstab's
  time. While ACRO runs here, DataFrame and Series reprs are a constant string and the
  stack is not walked: neither feeds a check. And the engine's table model makes its
  all-False mask once rather than by a fresh pd.crosstab per informational check.
  Measured on a 24-cell table: a crosstab took 180 ms (count) and 260 ms (sum) as
  installed, 53 and 119 ms so; the engine answers count, sum and mean over the same rows
  in about 100 ms of CPU, the rest being ACRO's per-cell pandas `nlargest`.

- Logging and files. acro.py calls `logging.basicConfig(level=INFO)` at import; the root
  logger is put back as it was and ACRO's own logger set to WARNING. Neither way in writes
  a file (only ACRO's `finalise`, `hist`, `pie` and `surv_func` do); the agreement test runs
  in a temporary directory and asserts it is still empty.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd


def _import_acro() -> Any:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import acro
    import acro.acro_tables
    import acro.table_utils
    import acro.tablemodeldetails
    import acro.utils

    # acro.py's basicConfig would otherwise print every INFO line of the test process.
    root.handlers[:] = handlers
    root.setLevel(level)
    # ACRO logs every check at INFO; a thousand tables would bury any real warning.
    logging.getLogger("acro").setLevel(logging.WARNING)
    return acro


acro = _import_acro()

ACRO_VERSION: str = acro.version.__version__

Aggfunc = Literal["count", "sum", "mean"]
Key = tuple[str, ...]

# The analysis ACRO runs for each aggfunc (table_utils.AGGFUNC_TO_TYPE).
ANALYSIS: dict[str, str] = {"count": "FrequencyTable", "sum": "Sum", "mean": "Mean"}

# ACRO's check names (sdcchecks.SDCChecks.check_to_method) -> evalink's rule names.
RULE_OF_CHECK: dict[str, str] = {
    "MinimumThresholdCheck": "threshold",
    "PresenceOfZeroCheck": "zero",
    "NKCheck": "dominance",
    "PPercentCheck": "p-ratio",
}
# Checks whose masks are all False by construction: notes for a human reviewer (zeros
# are or are not disclosive here; look for linked tables), not cell verdicts.
INFORMATIONAL_CHECKS = frozenset({"RequiredZeroCheck", "PresenceOfLinkedTableCheck"})


@dataclass(frozen=True)
class AcroVerdict:
    failing: dict[Key, frozenset[str]]  # every interior cell -> evalink rule names failed
    count: dict[Key, int]  # ACRO's count of rows in the cell (its count_table)
    aggregate: dict[Key, float]  # the cell's count, sum or mean from ACRO's evidence (NaN)
    status: str  # ACRO's status for the whole table: pass, fail or review
    dominance_asked_separately: frozenset[Key]  # see the module docstring (negatives)


def acro_session() -> Any:
    """An ACRO session that checks but does not suppress; thresholds are set per table."""
    session = acro.ACRO(suppress=False)
    # Shared, not copied: setting this dict sets what the checks read.
    assert session.sdc_checks.risk_appetite is session.config
    return session


def set_thresholds(
    session: Any,
    *,
    min_count: int,
    zeros_disclosive: bool,
    nk_n: int,
    nk_k: float,
    p_ratio: float,
    **_not_acros: Any,
) -> None:
    """ACRO's risk appetite from evalink's Thresholds fields (k and p in percent); the
    others (rounding_base, min_dof) play no part in a table's cell checks."""
    session.config.update(
        {
            "safe_threshold": min_count,
            "zeros_are_disclosive": zeros_disclosive,
            "safe_nk_n": nk_n,
            "safe_nk_k": nk_k / 100.0,
            "safe_pratio_p": p_ratio / 100.0,
            "check_missing_values": False,
        }
    )


_SESSION: Any = None


def _shared_session() -> Any:
    # One session serves every table: making one reads three json ontologies and a yaml.
    global _SESSION
    if _SESSION is None:
        _SESSION = acro_session()
    return _SESSION


@contextmanager
def _acro_quietly() -> Iterator[None]:
    saved = (
        pd.DataFrame.__repr__,
        pd.Series.__repr__,
        acro.acro_tables.stack,
        acro.utils.prettify_table_string,
    )
    pd.DataFrame.__repr__ = lambda self: "<DataFrame>"  # type: ignore[method-assign]
    pd.Series.__repr__ = lambda self: "<Series>"  # type: ignore[method-assign]
    acro.acro_tables.stack = list  # utils.get_command() then says "crosstab()"
    # collate_risk_assessments tabulates the outcome for an INFO line, also eagerly.
    acro.utils.prettify_table_string = lambda *args, **kwargs: ""
    try:
        with warnings.catch_warnings():
            # ACRO silences these itself at import (acro.py); pytest turns them back on.
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        (
            pd.DataFrame.__repr__,
            pd.Series.__repr__,
            acro.acro_tables.stack,
            acro.utils.prettify_table_string,
        ) = saved


def _key(row: Any, column: Any) -> Key:
    parts = row if isinstance(row, tuple) else (row,)
    return (*(str(part) for part in parts), str(column))


def _cells(frame: pd.DataFrame) -> Iterator[tuple[Key, Any]]:
    cells = frame.to_numpy()
    for i, row in enumerate(frame.index):
        for j, column in enumerate(frame.columns):
            yield _key(row, column), cells[i, j]


def _verdict(
    checks: dict[Key, set[str]],
    check_status: Mapping[str, str],
    count: dict[Key, int],
    aggregate: dict[Key, float],
    status: str,
) -> AcroVerdict:
    # Under "review" ACRO's dominance masks say "this cell holds a negative value".
    negatives = check_status.get("NKCheck") == "review"
    failing: dict[Key, frozenset[str]] = {}
    for key, names in checks.items():
        unknown = names - set(RULE_OF_CHECK) - INFORMATIONAL_CHECKS
        assert not unknown, f"ACRO reported checks this oracle does not read: {unknown}"
        rules = {RULE_OF_CHECK[name] for name in names if name in RULE_OF_CHECK}
        if negatives and rules & {"dominance", "p-ratio"}:
            rules = (rules - {"dominance", "p-ratio"}) | {"negative"}
        failing[key] = frozenset(rules)
    return AcroVerdict(failing, count, aggregate, status, frozenset())


class _TableModel(acro.tablemodeldetails.TableModelDetails):
    """ACRO's table model, its all-False mask made once: ACRO makes it by a fresh
    pd.crosstab for each informational check (RequiredZeroCheck, and
    PresenceOfLinkedTableCheck once per analysis), a quarter of a table's checking time."""

    _allfalse: pd.DataFrame | None = None

    def get_allfalse_table(self) -> pd.DataFrame:
        if self._allfalse is None:
            self._allfalse = super().get_allfalse_table()
        return self._allfalse.copy()


def _model(data: pd.DataFrame, index: Sequence[str], columns: str, values: str | None) -> Any:
    # As acro_tables.Tables.crosstab builds it (margins off, dropna forced False).
    measure = None if values is None else data[values]
    kwargs = {
        "values": measure,
        "rownames": None,
        "colnames": None,
        "aggfunc": None,
        "margins": False,
        "margins_name": "All",
        "dropna": False,
        "normalize": False,
    }
    return _TableModel(
        index=[data[name] for name in index],
        columns=[data[columns]],
        values=measure,
        thekwargs=kwargs,
        risk_appetite=_shared_session().sdc_checks.risk_appetite,
        command="crosstab",
    )


def _aggregate(
    aggfunc: Aggfunc, count: dict[Key, int], total: dict[Key, float]
) -> dict[Key, float]:
    if aggfunc == "count":
        return {key: float(n) for key, n in count.items()}
    if aggfunc == "sum":
        return dict(total)
    return {key: total[key] / n if n else float("nan") for key, n in count.items()}


def _run_checks(
    data: pd.DataFrame,
    index: Sequence[str],
    columns: str,
    values: str | None,
    aggfuncs: Sequence[Aggfunc],
) -> dict[str, AcroVerdict]:
    sdc = _shared_session().sdc_checks
    model = _model(data, index, columns, values)
    names = [ANALYSIS[aggfunc] for aggfunc in aggfuncs]
    with _acro_quietly():
        evidence = sdc.get_evidence_forall_analyses(names, model)
        results = {name: sdc.run_checks_for_analysis(name, evidence, model) for name in names}
    count = {key: int(n) for key, n in _cells(evidence.interim_tables["count_table"])}
    total: dict[Key, float] = {}
    if "sum" in evidence.interim_tables:
        total = {key: float(v) for key, v in _cells(evidence.interim_tables["sum"])}
    verdicts: dict[str, AcroVerdict] = {}
    for aggfunc, name in zip(aggfuncs, names, strict=True):
        checks: dict[Key, set[str]] = {key: set() for key in count}
        for check, mask in results[name].outcomes.items():
            for key, fails in _cells(mask):
                if fails:
                    checks[key].add(check)
        verdicts[aggfunc] = _verdict(
            checks,
            results[name].fair_dict["check_status"],
            count,
            _aggregate(aggfunc, count, total),
            results[name].overall_status,
        )
    return verdicts


def acro_verdicts(
    data: pd.DataFrame,
    *,
    index: Sequence[str],
    columns: str,
    values: str | None,
    aggfuncs: Sequence[Aggfunc],
    thresholds: Mapping[str, Any],
) -> dict[str, AcroVerdict]:
    """ACRO's verdict on every interior cell of one table per aggfunc over these rows, by
    ACRO's check engine (see the module docstring). Margins are not asked for: ACRO's
    are pandas' margins of the unsuppressed table, not checked cells."""
    set_thresholds(_shared_session(), **thresholds)
    verdicts = _run_checks(data, index, columns, values, aggfuncs)
    magnitude = [a for a in aggfuncs if a != "count"]
    if not any(any("negative" in r for r in verdicts[a].failing.values()) for a in magnitude):
        return verdicts
    # Negatives somewhere switch ACRO's dominance checks off for the whole table; ask
    # again for the cells without any, on their rows alone.
    first = verdicts[magnitude[0]]
    clean = [key for key, rules in first.failing.items() if "negative" not in rules]
    rows = data[pd.MultiIndex.from_frame(data[[*index, columns]].astype(str)).isin(clean)]
    again = _run_checks(rows, index, columns, values, magnitude) if len(rows) else {}
    for aggfunc in magnitude:
        failing = dict(verdicts[aggfunc].failing)
        asked: set[Key] = set()
        if aggfunc in again:
            assert not any("negative" in r for r in again[aggfunc].failing.values())
            for key in clean:
                if key in again[aggfunc].failing:
                    failing[key] |= again[aggfunc].failing[key] & {"dominance", "p-ratio"}
                    asked.add(key)
        old = verdicts[aggfunc]
        verdicts[aggfunc] = AcroVerdict(
            failing, old.count, old.aggregate, old.status, frozenset(asked)
        )
    return verdicts


def crosstab_verdict(
    data: pd.DataFrame,
    *,
    index: Sequence[str],
    columns: str,
    values: str | None,
    aggfunc: Aggfunc,
    thresholds: Mapping[str, Any],
) -> tuple[AcroVerdict, pd.DataFrame]:
    """ACRO's verdict the researcher's way, `ACRO(suppress=False).crosstab(...)`, read from
    the recorded output; and ACRO's table. Negatives are read literally here (no second
    question): the cells without any are left as ACRO leaves them, unchecked."""
    session = _shared_session()
    set_thresholds(session, **thresholds)
    with _acro_quietly():
        table = session.crosstab(
            [data[name] for name in index],
            data[columns],
            values=None if aggfunc == "count" else data[values],
            aggfunc=None if aggfunc == "count" else aggfunc,
            margins=False,
        )
    record = session.results.get(f"output_{session.results.output_id - 1}")
    session.results.results.clear()  # keep no history across tables
    outcome: pd.DataFrame = record.outcome
    assert outcome.shape == table.shape
    checks: dict[Key, set[str]] = {}
    for key, text in _cells(outcome):
        # "ok", or the failing checks' names: "MinimumThresholdCheck; NKCheck; "
        checks[key] = {name.strip() for name in str(text).split(";")} - {"", "ok"}
    aggregate = {key: float(v) for key, v in _cells(table)}
    # crosstab's table is the aggregate; its counts only for a count table.
    counts = {key: int(v) if aggfunc == "count" else -1 for key, v in aggregate.items()}
    verdict = _verdict(
        checks, record.fair.get("check_status", {}), counts, aggregate, record.status
    )
    return verdict, table


def acro_rounded(counts: Mapping[Key, int], base: int) -> dict[Key, float]:
    """ACRO's own rounding of counts to a base (table_utils.round_table, which
    `ACRO(mitigation="round")` applies): what "rounding only" is measured against."""
    keys = list(counts)
    frame = pd.DataFrame({"count": [counts[key] for key in keys]}, dtype=float)
    rounded = acro.table_utils.round_table(frame, base)["count"].to_numpy()
    return {key: float(v) for key, v in zip(keys, rounded, strict=True) if not np.isnan(v)}
