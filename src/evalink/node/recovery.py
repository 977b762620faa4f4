"""Recovery when a node opens: part files and data keys a killed process left without a
catalog row are removed, and parts whose key was already destroyed leave the catalog.
(Committed transactions a killed process did not finish are finished first, by
`Node._finish_transactions` in transactions.py.)"""

from __future__ import annotations

from evalink.node.catalog import Part
from evalink.node.layout import STORE, VAULT


class Recovery:
    """Cleaning up after a killed process (mixed into `Node`)."""

    def _recover(self) -> None:
        """Finish what a killed process left: orphan part files and keys go, parts whose
        key was already destroyed are removed from the catalog."""
        known = {p.part_id: p for p in self.parts()}
        keys = self.keyring.data_key_ids()
        orphan_files = []
        for location in (STORE, VAULT):
            folder = self.dir / location / "parts"
            if folder.is_dir():
                for path in folder.iterdir():
                    part_id = path.name.split(".", 1)[0]
                    if part_id not in known:
                        orphan_files.append(path)
        orphan_keys = sorted(keys - set(known))
        keyless = [p for p in known.values() if p.part_id not in keys]
        if not (orphan_files or orphan_keys or keyless):
            return
        for path in orphan_files:
            path.unlink(missing_ok=True)
        self.keyring.destroy_data_keys(orphan_keys)
        if keyless:
            self._destroy_keyless(keyless)
        self.audit.record(
            "recover", orphan_files=len(orphan_files), orphan_keys=len(orphan_keys),
            destroyed_parts=[p.part_id for p in keyless],
        )

    def _destroy_keyless(self, parts: list[Part]) -> None:
        for part in parts:
            self._con.execute("DELETE FROM catalog.parts WHERE part_id = ?", [part.part_id])
            self._con.execute(
                "INSERT INTO catalog.destroyed VALUES (?, ?, ?, ?, ?, ?)",
                [part.part_id, part.dataset, part.location, part.rows, self._clock(),
                 "destruction completed after interruption"],
            )
            self._remove_part_files(part.location, part.part_id)
