"""Transfers between nodes: `send` checks a flow of the policy and seals a package into
the outbox, `deliver` copies packages from one node's outbox to another's inbox (no
keys needed), `receive` opens and imports each package in the inbox, all its rows or
none, and refuses a package the policy, the keys or the catalog do not allow (a replay,
the same content again, a sender not trusted yet, a package due on arrival). The
package format is package.py."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from evalink.errors import EvalinkError, InputError, PolicyViolation
from evalink.files import atomic_output, read_table, write_text_atomic
from evalink.node import package as pkg
from evalink.node.layout import node_party

# Notes travel with a package for the recipient's software (e.g. linkage quality):
# aggregates only, JSON, small.
_MAX_NOTES_BYTES = 64 * 1024


@dataclass(frozen=True)
class Received:
    package: str
    ok: bool
    message: str
    dataset: str | None = None
    rows: int = 0
    sender: str | None = None


class _Refused(EvalinkError):
    """A refusal while receiving; `opened` says whether we saw the package's contents."""

    def __init__(
        self, error: EvalinkError, *, opened: bool, rule: str | None, wait: bool = False
    ) -> None:
        super().__init__(str(error))
        self.opened = opened
        self.rule = rule
        # Not the package's fault but this node's set-up (a sender not trusted yet): the
        # package stays in the inbox and imports on the first receive after the fix.
        self.wait = wait


class Transfer:
    """Sending and receiving packages (mixed into `Node`)."""

    def send(
        self,
        to: str,
        dataset: str,
        data: pa.Table | Path | str,
        *,
        purpose: str | None = None,
        notes: dict[str, Any] | None = None,
        keep_until: date | None = None,
    ) -> Path:
        """Check the policy, seal `data` for `to`, write it to the outbox; returns its path.

        `notes` (aggregates such as linkage quality, never personal data) travel encrypted
        in the manifest; the recipient reads them with `package_notes(dataset)`.

        The sender's copy (outbox, then outbox/sent/ once delivered) opens with the
        recipient's long-term key, so it must not outlive what it holds: retention
        deletes it on `keep_until` (what the data was derived from is due then), else on
        the earlier of the recipient's date for it and this node's own."""
        notes = _checked_notes(notes, self.policy.personal_fields())
        if isinstance(data, (str, Path)):
            source_name = Path(data).name
            flow_fields = [f for flow in self.policy.flows_from(self.party)
                           if flow.to == to and flow.dataset == dataset for f in flow.fields]
            table = read_table(data, all_strings=True, known_columns=flow_fields)
        else:
            source_name, table = "(table)", data
        fields = list(table.schema.names)
        try:
            flow = self.policy.check_flow(self.party, to, dataset, fields, purpose)
        except PolicyViolation as refusal:
            self.audit.record(
                "refused", operation="send", to=to, dataset=dataset, fields=fields,
                rows=table.num_rows, rule=refusal.rule, promises=refusal.promises,
            )
            raise
        keys = self.trusted(to)
        if keys is None:
            self.audit.record("refused", operation="send", to=to, dataset=dataset,
                              rule="trusted-keys")
            raise EvalinkError(
                f"no trusted keys for party '{to}': get its public key file and run "
                f"`evalink node trust --node {self.dir} FILE`"
            )
        manifest = {
            "dataset": dataset,
            "purpose": flow.purpose,
            "flow": flow.id,
            "policy_id": self.policy.id,
            "policy_version": self.policy.version,
            "policy_fingerprint": self.policy.fingerprint,
        }
        if notes:
            manifest["notes"] = notes
        stamp = self._clock().strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{self.party}-to-{to}-{dataset}-{secrets.token_hex(4)}{pkg.SUFFIX}"
        out = self.dir / "outbox" / name
        today = self.today()
        dates = [d for d in (
            keep_until,
            self.policy.destroy_by(to, dataset, {"receipt": today}),
            self.policy.destroy_by(self.party, dataset, {"receipt": today}),
        ) if d is not None]
        with self.transaction(f"send {dataset}"):
            tx = self._active()
            tx.copies.append((f"outbox/{name}", "sent", dataset, to, min(dates, default=None)))
            staged = self._staging(tx.id) / name
            staged.parent.mkdir(parents=True, exist_ok=True)
            tx.packages.append((staged, out))
            with staged.open("wb") as handle:
                full = pkg.seal(
                    handle, table, manifest=manifest, sender=self.party,
                    signing_key=self.keyring.signing_key, recipient=to,
                    recipient_key=keys.encryption_key(), created=self._clock(),
                )
                handle.flush()
                os.fsync(handle.fileno())
            tx.audit.append((
                "send",
                {"package": full["package_id"], "to": to, "dataset": dataset, "flow": flow.id,
                 "fields": fields, "rows": full["rows"], "sha256": full["sha256"],
                 "file": out.name, "source": source_name,
                 "notes": sorted(notes) if notes else None},
            ))
        return out

    def package_notes(self, dataset: str) -> dict[str, Any]:
        """The notes that came with the most recently received part of `dataset` ({} if
        none)."""
        row = self._con.execute(
            "SELECT notes FROM catalog.parts WHERE dataset = ? AND package_id IS NOT NULL "
            "ORDER BY stored_at DESC, part_id DESC LIMIT 1",
            [dataset],
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def part_notes(self, part_id: str) -> dict[str, Any]:
        """The notes that came with the package one part was received from ({} for a part
        not received, or received without notes)."""
        row = self._con.execute(
            "SELECT notes FROM catalog.parts WHERE part_id = ?", [part_id]
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def receive(self) -> list[Received]:
        """Open and import every package in the inbox. Each imports all its rows or none;
        a refused package is logged and moved to inbox/refused/, except one from a sender
        not yet trusted, which waits in the inbox."""
        results = []
        for path in sorted((self.dir / "inbox").glob(f"*{pkg.SUFFIX}")):
            try:
                results.append(self._receive_one(path))
            except _Refused as refusal:
                self.audit.record(
                    "refused", operation="receive", file=path.name, reason=str(refusal),
                    rule=refusal.rule,
                )
                if not refusal.wait:
                    self._set_aside(path, str(refusal), keep=not refusal.opened)
                results.append(Received(path.name, False, str(refusal)))
        return results

    def _receive_one(self, path: Path) -> Received:
        opened_contents = False
        try:
            header = pkg.read_header(path)
            if header["recipient"] != self.party:
                raise EvalinkError(
                    f"{path.name}: addressed to '{header['recipient']}', not to this node "
                    f"('{self.party}'); it cannot be opened here"
                )
            sender = str(header["sender"])
            keys = self.trusted(sender)
            if keys is None:
                raise _Refused(
                    EvalinkError(
                        f"{path.name}: sender '{sender}' is not trusted by this node; it stays "
                        f"in the inbox: check and trust the sender's key (`evalink node trust "
                        f"--node {self.dir} FILE`), then receive again"
                    ),
                    opened=False, rule="trusted-keys", wait=True,
                )
            opened = pkg.open_package(
                path, party=self.party, encryption_key=self.keyring.encryption_key,
                sender_key=keys.signing_key(),
            )
            opened_contents = True
            manifest = opened.manifest
            interrupted = self._interrupted_import(path, manifest)
            if interrupted is not None:
                return interrupted
            self._check_manifest(path, manifest)
            dataset = str(manifest["dataset"])
            fields = [str(f) for f in manifest["fields"]]
            flow = self.policy.check_flow(sender, self.party, dataset, fields,
                                          manifest.get("purpose"))
            location = self._location(dataset, fields, None)
            received = self.today()
            destroy_by, rule = self.policy.destroy_by_rule(self.party, dataset, {"receipt": received})
            if destroy_by is not None and rule is not None and destroy_by <= received:
                raise PolicyViolation(
                    f"{path.name}: '{dataset}' would be due for destruction the day it "
                    f"arrives (destroy by {destroy_by}, today {received}); not imported",
                    rule=rule, promises=[p.id for p in self.policy.promises_for(rule)],
                )
            package_info = {
                "package_id": manifest["package_id"], "sha256": manifest["sha256"],
                "sender": sender, "file_sha256": _file_sha256(path),
                "notes": _checked_notes(manifest.get("notes"), self.policy.personal_fields()),
            }
            batches, unique = opened.reader(), None
            if self.policy.intruders(dataset):
                batches, unique = self._check_release(dataset, package_info["notes"], batches)
            if self.policy.disclosure_rules(self.party) is not None:
                batches = self._check_publication(dataset, package_info["notes"], batches)
            part = self._write_part(
                dataset, batches, location, received=received, destroy_by=destroy_by,
                before_commit=opened.finish, package=package_info, rule=rule,
            )
            self._commit_part(part, f"package {manifest['package_id']}", package_info)
        except PolicyViolation as violation:
            raise _Refused(violation, opened=opened_contents, rule=violation.rule) from None
        except pa.ArrowException as error:
            # Signed by a trusted sender, yet the payload is not a readable table: the
            # sender's software is broken. Refuse it; nothing was committed.
            refusal = pkg.PackageRefused(
                f"{path.name}: payload cannot be read as a table ({type(error).__name__})"
            )
            raise _Refused(refusal, opened=True, rule=None) from None
        except duckdb.Error as error:
            # Not the package's fault (disk full, say): leave it in the inbox for a retry.
            raise EvalinkError(
                f"{path.name}: import failed in the store ({type(error).__name__}); nothing was "
                "imported and the package is still in the inbox"
            ) from None
        except _Refused:
            raise
        except EvalinkError as error:
            rule = next((r for r in ("replay", "duplicate") if f"{r} refused" in str(error)), None)
            raise _Refused(error, opened=opened_contents, rule=rule) from None
        self.audit.record(
            "receive", package=manifest["package_id"], sender=sender, dataset=dataset,
            flow=flow.id, fields=fields, rows=part.rows, sha256=manifest["sha256"],
            part=part.part_id, location=location, destroy_by=str(destroy_by) if destroy_by else None,
            **({"alone_in_release": unique} if unique is not None else {}),
        )
        # The package is not kept: it stays openable with this node's long-term key, so
        # keeping it would defeat crypto-shredding of the part. A receipt takes its place.
        self._set_aside(path, "imported", keep=False, done=True, extra={"part": part.part_id})
        return Received(path.name, True, "imported", dataset, part.rows, sender)

    def _check_release(
        self, dataset: str, notes: dict[str, Any], batches: pa.RecordBatchReader
    ) -> tuple[pa.RecordBatchReader, dict[str, int]]:
        """A dataset the policy names intruders for is imported only with their result
        travelling with it, every enforced one within bound; the attack that needs no
        exact values is run again here and logged."""
        from evalink.assemble.receipt import check_received

        table = batches.read_all()
        check = check_received(self.policy, dataset, notes, table)
        if check.refusal is not None:
            raise PolicyViolation(
                f"{check.refusal}; not imported", rule=check.rule or "intruders",
                promises=[p.id for p in self.policy.promises_for(check.rule or "")],
            )
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), check.unique

    def _check_publication(
        self, dataset: str, notes: dict[str, Any], batches: pa.RecordBatchReader
    ) -> pa.RecordBatchReader:
        """A party the policy gives disclosure rules (the public) keeps only what came
        out of the research node's airlock: every file's bytes as two trusted reviewers,
        neither its author, approved them, and every table passing the rules again here
        (evalink.release.publish). Anything else is refused with the rule named."""
        from evalink.release import check_publication

        table = batches.read_all()
        check_publication(self, dataset, notes, table)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())

    def _interrupted_import(self, path: Path, manifest: dict[str, Any]) -> Received | None:
        """A package this node imported, still in the inbox because the process that
        imported it was killed before moving it out. Its rows are held once already:
        finish moving it out and report it, rather than refusing it as a replay (which
        would make the retry of an interrupted `receive` fail)."""
        row = self._con.execute(
            "SELECT file_sha256, part_id, dataset, rows, sender FROM catalog.packages "
            "WHERE package_id = ?",
            [manifest["package_id"]],
        ).fetchone()
        if row is None or row[0] != _file_sha256(path):
            return None
        done = self.dir / "inbox" / "done"
        for receipt in done.glob("*.receipt.json"):
            with contextlib.suppress(OSError, ValueError):
                if json.loads(receipt.read_text(encoding="utf-8")).get("package_id") == \
                        manifest["package_id"]:
                    return None  # set aside already: this file is a copy, a replay
        self._set_aside(path, "imported", keep=False, done=True, extra={"part": row[1]})
        self.audit.record("recover", finished_import=manifest["package_id"], part=row[1])
        return Received(path.name, True, "imported (finishing an interrupted receive)",
                        str(row[2]), int(row[3]), str(row[4]))

    def _check_manifest(self, path: Path, manifest: dict[str, Any]) -> None:
        if manifest.get("policy_fingerprint") != self.policy.fingerprint:
            raise EvalinkError(
                f"{path.name}: made under policy '{manifest.get('policy_id')}' version "
                f"'{manifest.get('policy_version')}' (fingerprint "
                f"{str(manifest.get('policy_fingerprint'))[:12]}…), not the policy this node "
                f"enforces ({self.policy.version}, {self.policy.fingerprint[:12]}…)"
            )
        row = self._con.execute(
            "SELECT imported_at FROM catalog.packages WHERE package_id = ?",
            [manifest["package_id"]],
        ).fetchone()
        if row is not None:
            raise EvalinkError(
                f"{path.name}: replay refused: package {manifest['package_id'][:12]}… was "
                f"already imported at {row[0]:%Y-%m-%d %H:%M:%S}"
            )
        # The same rows sealed again (a second `send` of one file, a re-run script) are a
        # new package with a new id and seal, but importing them would hold every row twice.
        row = self._con.execute(
            "SELECT imported_at, package_id FROM catalog.packages "
            "WHERE dataset = ? AND content_sha256 = ?",
            [manifest.get("dataset"), manifest.get("sha256")],
        ).fetchone()
        if row is not None:
            raise EvalinkError(
                f"{path.name}: duplicate refused: the same content of '{manifest.get('dataset')}' "
                f"({manifest.get('rows')} rows) was already imported at "
                f"{row[0]:%Y-%m-%d %H:%M:%S} from package {str(row[1])[:12]}…"
            )

    def _set_aside(
        self, path: Path, outcome: str, *, keep: bool, done: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Move a package out of the inbox. Packages this node could read are replaced by
        a receipt (hashes and routing only); ones it could not read are kept for the
        operator to investigate or redirect."""
        folder = self.dir / "inbox" / ("done" if done else "refused")
        folder.mkdir(parents=True, exist_ok=True)
        if keep:
            os.replace(path, folder / path.name)
            # Kept unread for the operator, but not for ever: it may hold what this
            # party's rules say must go (dataset unknown: the rules for everything held).
            today = self.today()
            self._con.execute(
                "INSERT OR REPLACE INTO catalog.package_copies VALUES (?, ?, ?, ?, ?, ?)",
                [f"inbox/refused/{path.name}", "refused", None, None, today,
                 self.policy.destroy_by(self.party, "*", {"receipt": today})],
            )
            return
        try:
            header = dict(pkg.read_header(path).fields)
        except EvalinkError:
            header = {}
        receipt = {
            "file": path.name,
            "file_sha256": _file_sha256(path),
            "outcome": outcome,
            "at": self._clock().isoformat(timespec="seconds"),
            **{k: header.get(k) for k in ("package_id", "sender", "recipient", "created")},
            **(extra or {}),
        }
        write_text_atomic(folder / f"{path.name}.receipt.json", json.dumps(receipt, indent=1) + "\n")
        path.unlink()


def deliver(source: Path | str, target: Path | str) -> list[Path]:
    """Copy each package in `source`'s outbox addressed to `target`'s party into its inbox,
    and move the sender's copy to outbox/sent/. Needs no keys: the transport only ever
    sees sealed packages."""
    source, target = Path(source), Path(target)
    node_party(source)
    party = node_party(target)
    delivered = []
    for path in sorted((source / "outbox").glob(f"*{pkg.SUFFIX}")):
        try:
            recipient = pkg.read_header(path)["recipient"]
        except EvalinkError:
            continue
        if recipient != party:
            continue
        destination = target / "inbox" / path.name
        try:
            with atomic_output(destination) as tmp:
                shutil.copyfile(path, tmp)
        except OSError as error:
            # A full or unwritable inbox: the copy is removed, the package stays in the
            # outbox, and delivering again sends what is left (a package delivered twice
            # is refused as a replay at the recipient, so a retry is always safe).
            raise EvalinkError(
                f"{target / 'inbox'}: cannot write {path.name} ({error.strerror or type(error).__name__}); "
                f"{len(delivered)} package(s) delivered, the rest are still in {source / 'outbox'}: "
                "run `evalink deliver` again once the inbox can take them"
            ) from None
        sent = source / "outbox" / "sent"
        sent.mkdir(exist_ok=True)
        os.replace(path, sent / path.name)
        delivered.append(destination)
    return delivered


def _checked_notes(notes: Any, personal_fields: frozenset[str]) -> dict[str, Any]:
    """Notes must be a small JSON object without keys named after identifier fields."""
    if not notes:
        return {}
    if not isinstance(notes, dict):
        raise InputError("package notes must be a mapping")
    try:
        text = json.dumps(notes, sort_keys=True)
    except (TypeError, ValueError):
        raise InputError("package notes must be plain JSON values") from None
    if len(text) > _MAX_NOTES_BYTES:
        raise InputError(f"package notes are larger than {_MAX_NOTES_BYTES // 1024} KiB")

    def keys(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield str(key)
                yield from keys(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from keys(inner)

    bad = sorted(set(keys(notes)) & personal_fields)
    if bad:
        raise InputError(f"package notes may not carry personal data ({', '.join(bad)})")
    return notes


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
