"""Disclosure control: nothing is published that the policy's rules do not allow.

    thresholds = Thresholds.for_party(policy, "public")
    table = safe_table(data, thresholds, TableSpec(index=("area",), columns="problem"))
    table.write(Path("out.csv"))     # out.csv (publishable) and out.checks.csv (not)
    audit_suppression(table)          # each suppressed cell's interval, by LP
    check_model(residual_dof, cell_units, thresholds)
    scan_published(published, spec, thresholds)   # what a publishable table shows alone
    Register(...)                     # what has been released, and differencing (register.py)

The rules agree with ACRO 1.0.2's cell by cell (cells.py); secondary suppression and
its audit are linear programmes solved by SciPy's HiGHS (suppression.py). See
docs/disclosure.md.
"""

from evalink.disclosure.audit import audit_suppression
from evalink.disclosure.model import check_model
from evalink.disclosure.register import Register
from evalink.disclosure.scan import scan_published
from evalink.disclosure.suppression import Interval
from evalink.disclosure.table import SafeTable, Status, TableSpec, safe_table
from evalink.disclosure.thresholds import Thresholds

__all__ = [
    "Interval",
    "Register",
    "SafeTable",
    "Status",
    "TableSpec",
    "Thresholds",
    "audit_suppression",
    "check_model",
    "safe_table",
    "scan_published",
]
