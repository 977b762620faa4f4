"""The audit log's anchor: the head of the log each session seals in the encrypted
catalog, so a log cut short or rewritten between sessions is found (when a node opens)
and reported (by `verify_audit`) from then on. The log itself is evalink.audit."""

from __future__ import annotations

from evalink.audit import Head, Report, verify_log


class AuditAnchor:
    """Checking a node's audit log against its sealed anchor (mixed into `Node`)."""

    def _anchor(self) -> Head:
        row = self._con.execute("SELECT seq, hash FROM catalog.audit_anchor WHERE id = 1").fetchone()
        return Head(int(row[0]), str(row[1])) if row else Head(0, "")

    def _check_anchor(self) -> None:
        """Every session appends to the log and moves the anchor on, so a log cut short
        before this session would look whole afterwards. Check it now, and keep what is
        found in the encrypted catalog for good: `verify` reports it from then on."""
        anchor = self._anchor()
        if not anchor.seq:
            return
        if not self._log_contains(f'"hash":"{anchor.hash}"'):
            problem = (
                f"the log no longer holds the node's sealed checkpoint (entry {anchor.seq}): "
                "cut short or rewritten"
            )
            self._con.execute(
                "INSERT INTO catalog.audit_alarms VALUES (?, ?)", [self._clock(), problem]
            )
            self.audit.record("audit-alarm", problem=problem)

    def verify_audit(self) -> Report:
        """Check this node's log against its own public key and its sealed anchor, and
        report any damage found when a session opened."""
        anchor = self._anchor()
        report = verify_log(
            self.audit.path, self.keyring.signing_key.public_key(),
            anchor if anchor.seq else None, current_session=self.audit.session,
        )
        alarm = self._con.execute(
            "SELECT found_at, problem FROM catalog.audit_alarms ORDER BY found_at LIMIT 1"
        ).fetchone()
        if alarm is not None and report.ok:
            report.ok = False
            report.problem = f"{alarm[1]} (found when the node was opened at {alarm[0]:%Y-%m-%d %H:%M:%S})"
        self.audit.record(
            "audit-verify", ok=report.ok, entries=report.entries, line=report.line,
            checkpoints=report.checkpoints,
        )
        return report

    def _log_contains(self, needle: str) -> bool:
        """Whether any line of the audit log holds `needle` (a hash or an id)."""
        if not self.audit.path.exists():
            return False
        with self.audit.path.open("r", encoding="utf-8") as handle:
            return any(needle in line for line in handle)
