"""Tamper-evident audit logs: one hash-chained, checkpoint-signed log per node.

    log = AuditLog(path, party="linker", signing_key=key)
    log.record("receive", dataset="identifiers", rows=1200, sha256="…")
    anchor = log.close()                       # signed checkpoint
    verify_log(path, public_key, anchor).ok    # edit, deletion, insertion, reorder, truncation

Nodes open their log for you: use `node.audit.record(...)`.
"""

from evalink.audit.log import AuditLog, Head, read_entries
from evalink.audit.verify import Report, verify_log

__all__ = ["AuditLog", "Head", "Report", "read_entries", "verify_log"]
