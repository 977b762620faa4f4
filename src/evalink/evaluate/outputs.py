"""The evaluation's tables and report, written to the researcher's workspace.

Every table carries the counts it was computed from (persons and families in each
arm), because the release step's disclosure checks need them: nothing here is public
until it has passed them. Files are written to a staging folder inside `DIR` and
renamed into place together at the end, so a run that fails leaves `DIR` as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalink.evaluate.evaluation import Evaluation
from evalink.evaluate.plan import Window

EFFECT_COLUMNS = [
    "outcome", "window_from_month", "window_to_month", "measure", "estimate", "ci_low",
    "ci_high", "programme_rate", "comparison_rate", "difference", "n_programme",
    "n_comparison", "families_programme", "families_comparison", "method", "balance_ok",
    "agrees_with_primary", "note",
]
FILES = ("effects.csv", "balance.csv", "linkage_sensitivity.csv", "costs.csv", "rates.csv",
         "plan.yaml", "report.html")


def _rows(items: list[Any]) -> pd.DataFrame:
    """Dataclass rows → a frame, a `window` field spread into its two month columns."""
    records = []
    for item in items:
        assert is_dataclass(item)
        record: dict[str, Any] = {}
        for f in fields(item):
            value = getattr(item, f.name)
            if isinstance(value, Window):
                record["window_from_month"] = value.from_month
                record["window_to_month"] = value.to_month
            else:
                record[f.name] = value
        records.append(record)
    return pd.DataFrame.from_records(records)


def tables(result: Evaluation) -> dict[str, pd.DataFrame]:
    bound = result.plan.plan.estimators.max_smd
    effects = _rows(result.effects)
    effects = effects[EFFECT_COLUMNS] if len(effects) else pd.DataFrame(columns=EFFECT_COLUMNS)
    balance = pd.DataFrame.from_records([asdict(b) for b in result.balance])
    if len(balance):
        balance["balance_ok"] = balance["smd_after"].abs() <= bound
    return {
        "effects.csv": effects,
        "balance.csv": balance,
        "linkage_sensitivity.csv": _rows(result.linkage),
        "costs.csv": _rows(result.costs),
        "rates.csv": pd.DataFrame.from_records([asdict(r) for r in result.rates]),
    }


def write_outputs(result: Evaluation, out: Path) -> dict[str, Path]:
    """Write every table, the plan as registered and the report into `out`."""
    from evalink.evaluate.report import render_report

    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".evaluate-", dir=out))
    try:
        frames = tables(result)
        for name, frame in frames.items():
            frame.to_csv(staging / name, index=False, float_format="%.6g")
        (staging / "plan.yaml").write_text(result.plan.text, encoding="utf-8")
        render_report(result, frames, staging / "report.html")
        written = {}
        for name in FILES:
            os.replace(staging / name, out / name)
            written[name] = out / name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
