"""The research node's check of a research dataset on receipt: the motivated-intruder
result must travel with it and show every intruder its own policy enforces within
bound, and the attack it can run without the exact values is run again and logged."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from evalink.assemble.intruder import FAMILY, PERSON, unique_in_release
from evalink.policy import Intruder, Policy


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
                f"of its {intruder.units_word} (the policy accepts {intruder.max_reidentified:.2%})",
                intruder.id,
                {},
            )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    shown = {i.id: on_what_was_released(i, frame.columns) for i in intruders}
    unique = {id_: unique_in_release(frame, i) for id_, i in shown.items() if i is not None}
    return ReceiptCheck(None, None, unique)


def on_what_was_released(intruder: Intruder, columns: list[str]) -> Intruder | None:
    """The intruder as far as what it knows was released: a field not sent gives it
    nothing. None when nothing it could match on arrived (no pseudonym to count by, or
    an intruder of persons whose events were not sent)."""
    if PERSON not in columns or (intruder.unit == "family" and FAMILY not in columns):
        return None
    events = intruder.events
    if events is not None and not set(events.where) | set(events.knows) <= set(columns):
        events = None
    if intruder.unit == "person" and events is None:
        return None
    return intruder.model_copy(
        update={"knows": [c for c in intruder.knows if c in columns], "events": events}
    )
