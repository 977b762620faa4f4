"""The research node's check of a research dataset on receipt: the motivated-intruder
result must travel with it and show every intruder its own policy enforces within
bound, and the attack it can run without the exact values is run again and logged."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from evalink.assemble.intruder import unique_in_release
from evalink.policy import Policy


@dataclass
class ReceiptCheck:
    refusal: str | None
    rule: str | None
    unique: dict[str, int]  # intruder → units alone in the release on what it knows


def check_received(policy: Policy, dataset: str, notes: dict, table: pa.Table) -> ReceiptCheck:
    intruders = policy.intruders(dataset)
    report = notes.get("deidentification")
    if not isinstance(report, dict):
        rule = intruders[0].id if intruders else None
        return ReceiptCheck(f"'{dataset}' arrived without a motivated-intruder result", rule, {})
    reported = {r.get("intruder"): r for r in report.get("intruders", []) if isinstance(r, dict)}
    for intruder in intruders:
        if not intruder.enforced:
            continue
        result = reported.get(intruder.id)
        if result is None:
            return ReceiptCheck(
                f"'{dataset}' was not tested against intruder '{intruder.id}'", intruder.id, {}
            )
        if float(result.get("share", 1.0)) > intruder.max_reidentified:
            return ReceiptCheck(
                f"'{dataset}': intruder '{intruder.id}' re-identifies {result.get('share', 1.0):.2%} "
                f"of its {'families' if intruder.unit == 'family' else 'persons'} (the policy accepts {intruder.max_reidentified:.2%})",
                intruder.id,
                {},
            )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    unique = {i.id: unique_in_release(frame, i) for i in intruders}
    return ReceiptCheck(None, None, unique)
