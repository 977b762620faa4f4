"""Retention: what each node holds, when the policy says it must go, and destroying it.

    status(node)                  every part held, its rule, promise, date, days left
    run(node, dry_run=False)      destroy what is due (also at the start of every
                                  session): crypto-shred, re-wrap, certificates
    destroy(node, dataset, ...)   destroy now, on request, with certificates
    certificates(node)            the signed destruction certificates issued
    verify_certificates(node)     problems with them (empty: all verify)
    export_certificates(node, f)  write them to a JSON file, verified
"""

from evalink.retention.certificates import (
    certificates,
    export_certificates,
    verify_certificate_file,
    verify_certificates,
)
from evalink.retention.errors import DatasetDestroyed
from evalink.retention.run import Due, RetentionRun, destroy, plan, run
from evalink.retention.status import Holding, governing_rule, status

__all__ = [
    "DatasetDestroyed",
    "Due",
    "Holding",
    "RetentionRun",
    "certificates",
    "destroy",
    "export_certificates",
    "governing_rule",
    "plan",
    "run",
    "status",
    "verify_certificate_file",
    "verify_certificates",
]
