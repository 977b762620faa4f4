"""Pre-registration: the plan a project is evaluated under is recorded at the research
node before its first result, and cannot change quietly afterwards.

The first `evaluate` of a project records the plan's SHA-256 and version in the node's
audit log (hash-chained and signed, so a registration cannot be removed unnoticed) and
keeps the plan's text in the node's encrypted store. A later run with the same version
must bring the same bytes; a changed plan needs a new version, which is registered in
turn. Every version stays listed in the report, so a reader sees each change of plan
and when it was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from evalink.audit import read_entries
from evalink.errors import EvalinkError

if TYPE_CHECKING:
    from evalink.evaluate.plan import RegisteredPlan
    from evalink.node import Node

ACTION = "evaluation-plan-registered"
PLANS = "evaluation_plans"


class PlanRefused(EvalinkError):
    """A plan that differs from the one registered under its version."""


@dataclass(frozen=True)
class Registration:
    project: str
    version: int
    sha256: str
    registered: str  # the node's date of the registration
    seq: int  # its audit entry


def registrations(node: Node, project: str) -> list[Registration]:
    """Every version registered for `project`, oldest first, read from the audit log."""
    found = []
    for _, line in read_entries(node.audit.path):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # `evalink audit verify` reports a damaged line; it registers nothing
        details = entry.get("details", {}) if isinstance(entry, dict) else {}
        if entry.get("action") == ACTION and details.get("project") == project:
            found.append(Registration(
                project=project, version=int(details["version"]), sha256=str(details["sha256"]),
                registered=str(entry.get("effective_date") or entry.get("time", "")[:10]),
                seq=int(entry.get("seq", 0)),
            ))
    return found


def refuse_changed(node: Node, registered: RegisteredPlan, project: str) -> list[Registration]:
    """Refuse a plan whose version was registered for `project` with other bytes, or
    that is older than one registered; checked before the dataset is read. Returns the
    registrations."""
    plan = registered.plan
    earlier = registrations(node, project)
    same_version = [r for r in earlier if r.version == plan.version]
    if same_version and same_version[0].sha256 != registered.sha256:
        raise PlanRefused(
            f"{registered.source}: version: version {plan.version} of project '{project}' "
            f"was registered on {same_version[0].registered} with SHA-256 "
            f"{same_version[0].sha256[:12]}…, and this plan differs; change 'version' to "
            "register the new plan (every version is listed in the report)"
        )
    if not same_version and earlier and plan.version < max(r.version for r in earlier):
        raise PlanRefused(
            f"{registered.source}: version: {plan.version} is older than version "
            f"{max(r.version for r in earlier)} already registered for project '{project}'"
        )
    return earlier


def register(node: Node, registered: RegisteredPlan, project: str) -> tuple[list[Registration], bool]:
    """Register the plan if its version is new; refuse it if its version was
    registered with other bytes. Returns every registration and whether this call
    made a new one."""
    plan = registered.plan
    earlier = refuse_changed(node, registered, project)
    if any(r.version == plan.version for r in earlier):
        return earlier, False
    with node.transaction(f"register evaluation plan {project} v{plan.version}"):
        node.write_dataset(
            PLANS,
            pa.table({
                "project": [project], "version": [plan.version],
                "sha256": [registered.sha256], "text": [registered.text],
            }),
            events={"receipt": node.today()},
            source="evaluate",
        )
        node.record_on_commit(ACTION, project=project, version=plan.version,
                              sha256=registered.sha256)
    return registrations(node, project), True
