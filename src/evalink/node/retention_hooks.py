"""What evalink.retention needs of a node, where the retention logic itself lives: a
part to shred when the current transaction commits, the record of what was destroyed
(and the refusal that names it when a destroyed dataset is read), the certificates
issued, and the package files the node keeps track of."""

from __future__ import annotations

from typing import Any

from evalink.node.transactions import Shred


class RetentionHooks:
    """The node's side of retention (mixed into `Node`)."""

    def _refuse_destroyed(self, dataset: str) -> None:
        """A dataset no longer held because it was destroyed on schedule or on request
        is refused with when, why and the certificate that proves it."""
        row = self._con.execute(
            "SELECT destroyed_at, rule, certificate_id, reason FROM catalog.destroyed "
            "WHERE dataset = ? AND certificate_id IS NOT NULL "
            "ORDER BY destroyed_at DESC LIMIT 1",
            [dataset],
        ).fetchone()
        if row is not None:
            from evalink.retention.errors import DatasetDestroyed

            raise DatasetDestroyed(dataset, row[0].date(), row[1], row[2], row[3])

    def destroyed(self) -> list[dict[str, Any]]:
        """Every part destroyed with a certificate: dataset, part, rows, date, rule,
        certificate id."""
        rows = self._con.execute(
            "SELECT dataset, part_id, rows, destroyed_at, rule, certificate_id, reason "
            "FROM catalog.destroyed WHERE certificate_id IS NOT NULL ORDER BY destroyed_at, part_id"
        ).fetchall()
        keys = ("dataset", "part", "rows", "destroyed_at", "rule", "certificate", "reason")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def shred(self, shred: Shred) -> None:
        """Destroy a part when the current transaction commits: its catalog row goes and
        its certificate is stored in the same commit; then its data key and files are
        destroyed and the key ring re-wrapped (see `_finish`)."""
        tx = self._active()
        if any(s.part.part_id == shred.part.part_id for s in tx.replaced):
            return
        tx.replaced.append(shred)

    def certificate_rows(self) -> list[tuple[str, str, str, str]]:
        """(certificate id, dataset, body JSON, signature) of every certificate issued."""
        return [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
            for r in self._con.execute(
                "SELECT certificate_id, dataset, body, signature FROM catalog.certificates "
                "ORDER BY done, certificate_id"
            ).fetchall()
        ]

    def package_copies(self) -> list[dict[str, Any]]:
        """Package files this node keeps track of (its sent copies, packages it refused
        unread): file (relative to the node), kind, dataset, party, since, destroy_by."""
        rows = self._con.execute(
            "SELECT file, kind, dataset, party, since, destroy_by FROM catalog.package_copies "
            "ORDER BY file"
        ).fetchall()
        keys = ("file", "kind", "dataset", "party", "since", "destroy_by")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def drop_package_copy(self, file: str) -> None:
        """Delete a package file (relative to the node) when the transaction commits."""
        self._active().drop_copies.append(file)
