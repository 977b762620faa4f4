"""Promise checks that test the effect: for each promise of the policy, `kept`,
`BROKEN`, `NOT KEPT` (a risk the policy measures but does not enforce) or `not checked
in this run`, with the evidence read from a workdir's nodes.

    checks = check_promises("demo-out", passphrase, today=date(2023, 1, 1))
    cohort = read_cohort(council, council.policy)     # before the council destroys it
    checks = check_promises(workdir, passphrase, today=later, cohort=cohort)
    combine([early_checks, late_checks])              # one line per promise of a run
"""

from evalink.promises.check import check_promises
from evalink.promises.cohort import Cohort, read_cohort
from evalink.promises.report import (
    BROKEN,
    KEPT,
    NOT_CHECKED,
    NOT_KEPT,
    STATES,
    PromiseCheck,
    combine,
    report_line,
)

__all__ = [
    "BROKEN",
    "KEPT",
    "NOT_CHECKED",
    "NOT_KEPT",
    "STATES",
    "Cohort",
    "PromiseCheck",
    "check_promises",
    "combine",
    "read_cohort",
    "report_line",
]
