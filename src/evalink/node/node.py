"""A party's node: a directory holding its store, identifier vault, keys, inbox, outbox
and audit log. The same code runs every party; the policy says what each may do.

    DIR/
      node.json              party, policy fingerprint, public keys (nothing secret)
      policy.yaml            the policy this node enforces (sealed by fingerprint)
      keys/keyring.json      wrapped keys (see keyring.py); hold apart from data backups
      store/catalog.duckdb   encrypted (store key): what is held, trusted keys, packages
                             received, audit anchor — names, counts and hashes only
      store/parts/*.duckdb   the main store's data, one encrypted file per part
      vault/parts/*.duckdb   the identifier vault's data, keys wrapped by the vault key
      inbox/  inbox/done/  inbox/refused/  outbox/  outbox/sent/
      audit/log.jsonl        hash-chained, checkpoint-signed
      tmp/                   DuckDB's spill files, encrypted

Why one encrypted DuckDB file per dataset *part* (each write or each received package)
rather than one database: DuckDB encrypts a database under a single key, and
crypto-shredding needs the data of one dataset — and one receipt, since retention
counts from the date each package arrived — under a key of its own. Destroying that key
makes the part unreadable in every copy. The catalog is the commit point: a part exists
once its catalog row is committed, so an import killed half-way leaves only an orphan
file and key, removed at the next open, and the package waits in the inbox for a retry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from evalink.audit import AuditLog, Head, Report, verify_log
from evalink.audit.log import UNLOCK_FAILED
from evalink.clock import clock_on, today_from_environment
from evalink.errors import EvalinkError, InputError, PolicyViolation
from evalink.files import atomic_output, read_table, write_text_atomic
from evalink.node import package as pkg
from evalink.node.keyring import KeyRing, WrongPassphrase
from evalink.node.store import attach, connect
from evalink.node.trust import PartyKeys, parse_public_key_document, public_key_document
from evalink.policy import Policy, load_policy, parse_policy
from evalink.policy.spec import SafeguardKind

NODE_FORMAT = "evalink-node/1"
STORE, VAULT = "store", "vault"
_LOCK_WAIT_SECONDS = 30
# In a part dated row by row, the column naming each row's retention rule (if any).
ROW_RULE = "retention_rule"

_CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog.parts (
    part_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, location VARCHAR NOT NULL,
    fields VARCHAR NOT NULL, rows BIGINT NOT NULL, sha256 VARCHAR, stored_at TIMESTAMPTZ,
    received DATE, destroy_by DATE, package_id VARCHAR, sender VARCHAR, source VARCHAR);
CREATE TABLE IF NOT EXISTS catalog.packages (
    package_id VARCHAR PRIMARY KEY, file_sha256 VARCHAR, sender VARCHAR, dataset VARCHAR,
    rows BIGINT, imported_at TIMESTAMPTZ, part_id VARCHAR);
CREATE TABLE IF NOT EXISTS catalog.trusted (
    party VARCHAR PRIMARY KEY, x25519 VARCHAR NOT NULL, ed25519 VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL, trusted_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS catalog.destroyed (
    part_id VARCHAR, dataset VARCHAR, location VARCHAR, rows BIGINT, destroyed_at TIMESTAMPTZ,
    reason VARCHAR);
CREATE TABLE IF NOT EXISTS catalog.audit_anchor (
    id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash VARCHAR NOT NULL);
ALTER TABLE catalog.parts ADD COLUMN IF NOT EXISTS notes VARCHAR;
CREATE TABLE IF NOT EXISTS catalog.audit_alarms (found_at TIMESTAMPTZ, problem VARCHAR);
ALTER TABLE catalog.packages ADD COLUMN IF NOT EXISTS content_sha256 VARCHAR;
CREATE TABLE IF NOT EXISTS catalog.pending (
    transaction_id VARCHAR PRIMARY KEY, operation VARCHAR NOT NULL, work VARCHAR NOT NULL);
ALTER TABLE catalog.parts ADD COLUMN IF NOT EXISTS row_destroy_by VARCHAR;
ALTER TABLE catalog.parts ADD COLUMN IF NOT EXISTS rule VARCHAR;
ALTER TABLE catalog.destroyed ADD COLUMN IF NOT EXISTS rule VARCHAR;
ALTER TABLE catalog.destroyed ADD COLUMN IF NOT EXISTS certificate_id VARCHAR;
CREATE TABLE IF NOT EXISTS catalog.certificates (
    certificate_id VARCHAR PRIMARY KEY, part_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL,
    done DATE NOT NULL, body VARCHAR NOT NULL, signature VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS catalog.package_copies (
    file VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, dataset VARCHAR, party VARCHAR,
    since DATE, destroy_by DATE);
"""
# `row_destroy_by`: the column holding each row's own destroy-by date, for a part whose
# rows fall due one family at a time (the council's); the part's destroy_by is the
# earliest of them. `package_copies`: packages this node still holds a file of (its own
# sent copies, ones it refused) and when that file must go, since a package stays
# openable with the recipient's long-term key.
# `pending` holds what a committed transaction still has to do after its commit: move its
# sealed packages from outbox/.pending/ into the outbox, shred the parts it replaced and
# write its audit entries. A process killed between the commit and those steps leaves
# the row, and the next open finishes them (`Node._finish_transactions`).
PENDING_OUTBOX = ".pending"
# Notes travel with a package for the recipient's software (e.g. linkage quality):
# aggregates only, JSON, small.
_MAX_NOTES_BYTES = 64 * 1024


@dataclass(frozen=True)
class Part:
    part_id: str
    dataset: str
    location: str
    fields: list[str]
    rows: int
    sha256: str | None
    received: date | None
    destroy_by: date | None
    sender: str | None
    row_destroy_by: str | None = None
    rule: str | None = None  # the retention rule that sets destroy_by


@dataclass(frozen=True)
class Shred:
    """A part to destroy when a transaction commits, and why: `rule` and `certificate`
    (a signed destruction certificate, see evalink.retention) for a destruction on
    schedule or on request; neither for a part replaced by a newer one."""

    part: Part
    reason: str
    rule: str | None = None
    certificate: dict[str, Any] | None = None


@dataclass(frozen=True)
class Received:
    package: str
    ok: bool
    message: str
    dataset: str | None = None
    rows: int = 0
    sender: str | None = None


@dataclass
class _Transaction:
    """What one command writes, held back until the command completes: parts written but
    not yet in the catalog, packages sealed into outbox/.pending/ID/, earlier parts it
    replaces and the audit entries that report all of it."""

    id: str
    operation: str
    parts: list[tuple[Part, str]] = field(default_factory=list)  # part, source
    replaced: list[Shred] = field(default_factory=list)
    packages: list[tuple[Path, Path]] = field(default_factory=list)  # staged, final
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # package copies to keep track of (file, kind, dataset, party, destroy_by) and ones
    # to delete (paths relative to the node)
    copies: list[tuple[str, str, str, str, date | None]] = field(default_factory=list)
    drop_copies: list[str] = field(default_factory=list)


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


def is_node(directory: Path) -> bool:
    return (directory / "node.json").is_file()


def node_party(directory: Path) -> str:
    """The party a node serves, from its (public) node.json."""
    try:
        return str(json.loads((directory / "node.json").read_text(encoding="utf-8"))["party"])
    except (OSError, ValueError, KeyError) as error:
        raise InputError(
            f"{directory}: not an evalink node ({type(error).__name__}); "
            "create one with `evalink node init`"
        ) from None


def init_node(
    directory: Path | str, *, party: str, policy_path: Path | str, passphrase: str,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Create a node. Built in a temporary directory beside DIR and renamed into place,
    so a failed init leaves nothing half-made."""
    directory = Path(directory)
    clock = clock or clock_on(today_from_environment())
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory}: already exists and is not empty")
    policy = _policy_at(Path(policy_path))
    party_spec = policy.party(party)
    policy_text = Path(policy_path).read_text(encoding="utf-8")
    directory.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{directory.name}.init-", dir=directory.parent))
    try:
        for sub in ("keys", "store/parts", "inbox/done", "inbox/refused", "outbox/sent",
                    "audit", "tmp"):
            (build / sub).mkdir(parents=True, exist_ok=True)
        if party_spec.holds_identifiers:
            (build / "vault/parts").mkdir(parents=True)
        write_text_atomic(build / "policy.yaml", policy_text)
        created = clock().isoformat(timespec="seconds")
        config = {
            "party": party,
            "policy_id": policy.id,
            "policy_fingerprint": policy.fingerprint,
            "node_id": secrets.token_hex(8),
            "created": created,
        }
        ring = KeyRing.create(build / "keys" / "keyring.json", passphrase, config)
        node_json = {
            "format": NODE_FORMAT,
            "party": party,
            "policy_id": policy.id,
            "policy_version": policy.version,
            "policy_fingerprint": policy.fingerprint,
            "vault": party_spec.holds_identifiers,
            "created": created,
            "public": ring.public_keys(),
        }
        write_text_atomic(build / "node.json", json.dumps(node_json, indent=1) + "\n")
        con = connect(build / "tmp")
        try:
            attach(con, build / "store" / "catalog.duckdb", ring.store_key, "catalog")
            con.execute(_CATALOG_SCHEMA)
        finally:
            con.close()
        if directory.exists():
            directory.rmdir()
        os.rename(build, directory)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    os.chmod(directory, 0o700)
    with Node.open(directory, passphrase, clock=clock) as node:
        node.audit.record(
            "node-init",
            policy_id=policy.id,
            policy_version=policy.version,
            policy_fingerprint=policy.fingerprint,
            key_fingerprint=node.fingerprint,
            vault=party_spec.holds_identifiers,
        )
        return {"party": party, "fingerprint": node.fingerprint, "vault": party_spec.holds_identifiers}


class Node:
    """An opened node: one session. Use as a context manager; closing writes the signed
    audit checkpoint and releases the node's lock."""

    def __init__(
        self, directory: Path, policy: Policy, ring: KeyRing, lock: Any,
        clock: Callable[[], datetime], *, retention: bool = True,
    ) -> None:
        self.dir = directory
        self.policy = policy
        self.party = str(ring.config["party"])
        self.keyring = ring
        self._lock = lock
        self._clock = clock
        self._con = connect(directory / "tmp")
        attach(self._con, directory / "store" / "catalog.duckdb", ring.store_key, "catalog")
        self._con.execute(_CATALOG_SCHEMA)
        self.audit = AuditLog(
            directory / "audit" / "log.jsonl", party=self.party, signing_key=ring.signing_key,
            effective=clock, personal_fields=policy.personal_fields(),
        )
        self._closed = False
        self._transaction: _Transaction | None = None
        self._check_anchor()
        self._finish_transactions()
        self._recover()
        if retention:
            # Before anything else happens in the session: nothing outlives its date
            # because nobody ran a job.
            from evalink.retention.run import run as run_retention

            run_retention(self)

    # --- session --------------------------------------------------------------------

    @classmethod
    def open(
        cls, directory: Path | str, passphrase: str, *,
        clock: Callable[[], datetime] | None = None, retention: bool = True,
    ) -> Node:
        """Open a session. `clock`: the day the session acts on (default: EVALINK_TODAY,
        else the system's). Due parts are destroyed first unless `retention` is False —
        for commands that only look (`retention status`, `retention run --dry-run`)."""
        directory = Path(directory)
        clock = clock or clock_on(today_from_environment())
        party = node_party(directory)
        lock = _acquire_lock(directory)
        try:
            try:
                ring = KeyRing.unlock(directory / "keys" / "keyring.json", passphrase)
            except WrongPassphrase:
                # Failed attempts are evidence too; the entry is sealed by the next
                # checkpoint an unlocked session writes.
                AuditLog(directory / "audit" / "log.jsonl", party=party, signing_key=None,
                         effective=clock).record(UNLOCK_FAILED)
                raise
            if ring.config.get("party") != party:
                raise EvalinkError(
                    f"{directory}: node.json names party '{party}' but the key ring was made "
                    f"for '{ring.config.get('party')}' (altered)"
                )
            policy = _policy_at(directory / "policy.yaml")
            if policy.fingerprint != ring.config.get("policy_fingerprint"):
                raise EvalinkError(
                    f"{directory}/policy.yaml has changed since the node was created "
                    f"(fingerprint {policy.fingerprint[:12]}…, sealed "
                    f"{str(ring.config.get('policy_fingerprint'))[:12]}…); refusing to run "
                    "under an unsealed policy"
                )
            policy.party(party)
            return cls(directory, policy, ring, lock, clock, retention=retention)
        except BaseException:
            _release_lock(lock)
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with contextlib.suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
            if self.audit.head.seq != self._anchor().seq:
                head = self.audit.close()
                self._con.execute(
                    "INSERT OR REPLACE INTO catalog.audit_anchor VALUES (1, ?, ?)",
                    [head.seq, head.hash],
                )
            self._con.close()
        finally:
            _release_lock(self._lock)

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def fingerprint(self) -> str:
        from evalink.node.trust import fingerprint

        keys = self.keyring.public_keys()
        return fingerprint(keys["x25519"], keys["ed25519"])

    @property
    def has_vault(self) -> bool:
        return self.policy.party(self.party).holds_identifiers

    def today(self) -> date:
        return self._clock().date()

    # --- audit ----------------------------------------------------------------------

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

    # --- keys and trust -------------------------------------------------------------

    def change_passphrase(self, new_passphrase: str) -> None:
        self.keyring.change_passphrase(new_passphrase)
        self.audit.record("passphrase-changed", kdf=f"scrypt 2^{self.keyring.document['kdf']['log2n']}")

    def export_public(self, out: Path | str) -> str:
        document = public_key_document(
            self.party, self.policy.id, self.keyring.public_keys(), self.keyring.signing_key,
            self._clock().isoformat(timespec="seconds"),
        )
        write_text_atomic(out, json.dumps(document, indent=1) + "\n")
        self.audit.record("export-public-keys", file=Path(out).name, fingerprint=self.fingerprint)
        return self.fingerprint

    def trust(self, key_file: Path | str, *, replace: bool = False) -> PartyKeys:
        key_file = Path(key_file)
        try:
            text = key_file.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(f"{key_file}: cannot read ({type(error).__name__})") from None
        keys, policy_id = parse_public_key_document(text, str(key_file))
        if policy_id != self.policy.id:
            raise InputError(
                f"{key_file}: keys of a node under policy '{policy_id}', not '{self.policy.id}'"
            )
        self.policy.party(keys.party)
        if keys.party == self.party:
            raise InputError(f"{key_file}: these are this node's own keys ('{self.party}')")
        current = self.trusted(keys.party)
        if current is not None and current.fingerprint != keys.fingerprint and not replace:
            self.audit.record("refused", operation="trust", party=keys.party,
                              fingerprint=keys.fingerprint, rule="key-change")
            raise EvalinkError(
                f"party '{keys.party}' is already trusted with key {current.fingerprint}; "
                f"the file has {keys.fingerprint}. Confirm the change with the party, then "
                "use --replace"
            )
        self._con.execute(
            "INSERT OR REPLACE INTO catalog.trusted VALUES (?, ?, ?, ?, ?)",
            [keys.party, keys.x25519, keys.ed25519, keys.fingerprint, self._clock()],
        )
        self.audit.record(
            "trust", party=keys.party, fingerprint=keys.fingerprint,
            replaced=current.fingerprint if current and current != keys else None,
        )
        return keys

    def trusted(self, party: str) -> PartyKeys | None:
        row = self._con.execute(
            "SELECT party, x25519, ed25519 FROM catalog.trusted WHERE party = ?", [party]
        ).fetchone()
        return PartyKeys(*row) if row else None

    # --- datasets -------------------------------------------------------------------

    def parts(self, dataset: str | None = None) -> list[Part]:
        sql = ("SELECT part_id, dataset, location, fields, rows, sha256, received, destroy_by, "
               "sender, row_destroy_by, rule FROM catalog.parts")
        params: list[Any] = []
        if dataset is not None:
            sql += " WHERE dataset = ?"
            params.append(dataset)
        rows = self._con.execute(sql + " ORDER BY stored_at, part_id", params).fetchall()
        return [
            Part(r[0], r[1], r[2], json.loads(r[3]), int(r[4]), r[5], r[6], r[7], r[8], r[9],
                 r[10])
            for r in rows
        ]

    def datasets(self) -> dict[str, list[Part]]:
        held: dict[str, list[Part]] = {}
        for part in self.parts():
            held.setdefault(part.dataset, []).append(part)
        return held

    def package_notes(self, dataset: str) -> dict[str, Any]:
        """The notes that came with the most recently received part of `dataset` ({} if
        none)."""
        row = self._con.execute(
            "SELECT notes FROM catalog.parts WHERE dataset = ? AND package_id IS NOT NULL "
            "ORDER BY stored_at DESC, part_id DESC LIMIT 1",
            [dataset],
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def _location(self, dataset: str, fields: list[str], vault: bool | None) -> str:
        """Vault for datasets the policy keeps in a vault, and for anything carrying a
        direct identifier; refused outright at a party with no vault."""
        if vault is None:
            try:
                vault = self.policy.dataset(dataset).vault
            except PolicyViolation:
                vault = False
            vault = vault or bool(set(fields) & self.policy.direct_identifier_fields())
        if vault and not self.has_vault:
            rule = next(
                (s.id for s in self.policy.safeguards(SafeguardKind.IDENTIFIERS_IN_VAULT)),
                "identifiers-in-vault",
            )
            raise PolicyViolation(
                f"dataset '{dataset}' holds identifiers and party '{self.party}' has no "
                "identifier vault",
                rule=rule, promises=[p.id for p in self.policy.promises_for(rule)],
            )
        return VAULT if vault else STORE

    def _part_path(self, location: str, part_id: str) -> Path:
        return self.dir / location / "parts" / f"{part_id}.duckdb"

    def _write_part(
        self,
        dataset: str,
        batches: pa.RecordBatchReader,
        location: str,
        *,
        received: date | None,
        destroy_by: date | None,
        before_commit: Callable[[], None] | None = None,
        package: dict[str, Any] | None = None,
        row_destroy_by: str | None = None,
        rule: str | None = None,
    ) -> Part:
        """Write a part's file under a new data key. Not yet committed: until its catalog
        row is, the file and key are orphans that the next open removes. With
        `row_destroy_by`, the part is due when its earliest row is."""
        part_id = secrets.token_hex(8)
        key = self.keyring.new_data_key(part_id, location)
        path = self._part_path(location, part_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        alias = f"part_{part_id}"
        rows = 0
        attach(self._con, path, key, alias)
        try:
            self._con.register("incoming", pa.Table.from_batches([], schema=batches.schema))
            self._con.execute(f"CREATE TABLE {alias}.rows AS SELECT * FROM incoming")
            for batch in batches:
                self._con.register("incoming", pa.Table.from_batches([batch]))
                self._con.execute(f"INSERT INTO {alias}.rows SELECT * FROM incoming")
                rows += batch.num_rows
                if row_destroy_by is not None:
                    dates = batch.column(row_destroy_by)
                    earliest = pc.min(dates).as_py()
                    if earliest is not None and (destroy_by is None or earliest < destroy_by):
                        destroy_by = earliest
                        if ROW_RULE in batch.schema.names:
                            at = pc.index(dates, pa.scalar(earliest, dates.type)).as_py()
                            rule = batch.column(ROW_RULE)[at].as_py()
            self._con.unregister("incoming")
            self._con.execute(f"DETACH {alias}")
            if before_commit is not None:
                before_commit()
        except BaseException:
            # Nothing is committed yet: drop the part and its key, leave no trace of rows.
            with contextlib.suppress(duckdb.Error):
                self._con.execute(f"DETACH {alias}")
            self._discard_part(location, part_id)
            raise
        return Part(
            part_id, dataset, location, list(batches.schema.names), rows,
            package["sha256"] if package else None, received, destroy_by,
            package["sender"] if package else None, row_destroy_by, rule,
        )

    def _insert_part_row(self, part: Part, source: str, package: dict[str, Any] | None) -> None:
        self._con.execute(
            "INSERT INTO catalog.parts (part_id, dataset, location, fields, rows, sha256, "
            "stored_at, received, destroy_by, package_id, sender, source, notes, "
            "row_destroy_by, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [part.part_id, part.dataset, part.location, json.dumps(part.fields), part.rows,
             part.sha256, self._clock(), part.received, part.destroy_by,
             package["package_id"] if package else None, part.sender, source,
             json.dumps(package["notes"]) if package and package.get("notes") else None,
             part.row_destroy_by, part.rule],
        )

    def _commit_part(self, part: Part, source: str, package: dict[str, Any]) -> None:
        """The commit point of an import: the part and the package's receipt, in one
        catalog transaction."""
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            self._insert_part_row(part, source, package)
            con.execute(
                "INSERT INTO catalog.packages (package_id, file_sha256, sender, dataset, rows, "
                "imported_at, part_id, content_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [package["package_id"], package["file_sha256"], package["sender"],
                 part.dataset, part.rows, self._clock(), part.part_id, package["sha256"]],
            )
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._discard_part(part.location, part.part_id)
            raise

    def _discard_part(self, location: str, part_id: str) -> None:
        self.keyring.destroy_data_keys([part_id])
        self._remove_part_files(location, part_id)

    def _remove_part_files(self, location: str, part_id: str) -> None:
        path = self._part_path(location, part_id)
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)

    # --- transactions ---------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, operation: str) -> Iterator[None]:
        """Every `write_dataset` and `send` inside takes effect together when the block
        ends, or not at all: a command that fails — a missing trust, a refused
        verification, a full disk — leaves the node's datasets and outbox as they were.

        The commit point is one catalog transaction. Parts are written first under keys
        of their own (orphans until committed), packages are sealed into
        outbox/.pending/ID/ and moved into the outbox only after the commit; a process
        killed after the commit has its moves finished at the next open. A block inside
        another joins it."""
        if self._transaction is not None:
            yield
            return
        tx = _Transaction(secrets.token_hex(8), operation)
        self._transaction = tx
        try:
            yield
        except BaseException as error:
            self._transaction = None
            self._roll_back(tx, error)
            raise
        self._transaction = None
        self._commit(tx)

    def record_on_commit(self, action: str, **details: Any) -> None:
        """An audit entry that reports the current transaction's work: written when it
        commits, never for one rolled back (which gets a 'rolled-back' entry instead)."""
        if self._transaction is None:
            self.audit.record(action, **details)
        else:
            self._transaction.audit.append((action, details))

    def _active(self) -> _Transaction:
        assert self._transaction is not None
        return self._transaction

    def _staging(self, transaction_id: str) -> Path:
        return self.dir / "outbox" / PENDING_OUTBOX / transaction_id

    def _commit(self, tx: _Transaction) -> None:
        work = {
            "packages": [
                [str(s.relative_to(self.dir)), str(f.relative_to(self.dir))]
                for s, f in tx.packages
            ],
            "destroy": [
                {"dataset": s.part.dataset, "part": s.part.part_id, "location": s.part.location,
                 "rows": s.part.rows, "reason": s.reason, "rule": s.rule,
                 "certificate": s.certificate["certificate_id"] if s.certificate else None}
                for s in tx.replaced
            ],
            "drop_copies": tx.drop_copies,
            "audit": [[action, details] for action, details in tx.audit],
        }
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            for part, source in tx.parts:
                self._insert_part_row(part, source, None)
            when = self._clock()
            for shred in tx.replaced:
                part = shred.part
                certificate = shred.certificate
                con.execute("DELETE FROM catalog.parts WHERE part_id = ?", [part.part_id])
                con.execute(
                    "INSERT INTO catalog.destroyed (part_id, dataset, location, rows, "
                    "destroyed_at, reason, rule, certificate_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [part.part_id, part.dataset, part.location, part.rows, when, shred.reason,
                     shred.rule, certificate["certificate_id"] if certificate else None],
                )
                if certificate is not None:
                    con.execute(
                        "INSERT INTO catalog.certificates VALUES (?, ?, ?, ?, ?, ?)",
                        [certificate["certificate_id"], part.part_id, part.dataset,
                         certificate["done"], json.dumps(certificate["body"], sort_keys=True),
                         certificate["signature"]],
                    )
            for file, kind, dataset, party, destroy_by in tx.copies:
                con.execute(
                    "INSERT OR REPLACE INTO catalog.package_copies VALUES (?, ?, ?, ?, ?, ?)",
                    [file, kind, dataset, party, when.date(), destroy_by],
                )
            for file in tx.drop_copies:
                con.execute("DELETE FROM catalog.package_copies WHERE file = ?", [file])
            con.execute(
                "INSERT INTO catalog.pending VALUES (?, ?, ?)",
                [tx.id, tx.operation, json.dumps(work)],
            )
            con.execute("COMMIT")
        except BaseException as error:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._roll_back(tx, error)
            raise
        self._finish(tx.id, work)

    def _roll_back(self, tx: _Transaction, error: BaseException) -> None:
        for part, _ in tx.parts:
            self._discard_part(part.location, part.part_id)
        shutil.rmtree(self._staging(tx.id), ignore_errors=True)
        if tx.parts or tx.packages:
            self.audit.record(
                "rolled-back", operation=tx.operation, transaction=tx.id,
                parts=len(tx.parts), packages=len(tx.packages), error=type(error).__name__,
            )

    def _finish(
        self, transaction_id: str, work: dict[str, Any], *, recovering: bool = False
    ) -> None:
        """What follows a transaction's commit. Every step can be repeated, so an open
        after a kill simply runs it again (`recovering`: then the audit entries are
        written only if the killed process had not written them yet)."""
        for staged, final in work["packages"]:
            if (self.dir / staged).exists():
                os.replace(self.dir / staged, self.dir / final)
        shutil.rmtree(self._staging(transaction_id), ignore_errors=True)
        destroyed: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for item in work["destroy"]:
            self._discard_part(item["location"], item["part"])
            destroyed.setdefault((item["dataset"], item.get("rule")), []).append(item)
        for file in work.get("drop_copies", []):
            (self.dir / file).unlink(missing_ok=True)
            if file.startswith("outbox/"):  # delivered since: moved to outbox/sent/
                (self.dir / "outbox" / "sent" / file.removeprefix("outbox/")).unlink(
                    missing_ok=True
                )
        certified = [i for i in work["destroy"] if i.get("certificate")]
        if certified:
            # Keys of what remains are re-wrapped under fresh keys: a copy of a destroyed
            # part's wrapped key from before no longer opens under this ring. Repeatable.
            self.keyring.rekey()
        entries = [tuple(entry) for entry in work["audit"]] + [
            ("destroy", {"dataset": dataset, "parts": [i["part"] for i in items],
                         "rows": sum(i["rows"] for i in items),
                         "keys_destroyed": [i["part"] for i in items],
                         "reason": items[0]["reason"],
                         **({"rule": rule} if rule else {}),
                         **({"certificates": [i["certificate"] for i in items]}
                            if any(i.get("certificate") for i in items) else {})})
            for (dataset, rule), items in destroyed.items()
        ]
        if not (recovering and self._log_contains(f'"transaction":"{transaction_id}"')):
            for action, details in entries:
                self.audit.record(action, transaction=transaction_id, **details)
        self._con.execute("DELETE FROM catalog.pending WHERE transaction_id = ?", [transaction_id])

    def _log_contains(self, needle: str) -> bool:
        """Whether any line of the audit log holds `needle` (a hash or an id)."""
        if not self.audit.path.exists():
            return False
        with self.audit.path.open("r", encoding="utf-8") as handle:
            return any(needle in line for line in handle)

    def _finish_transactions(self) -> None:
        """Finish transactions a killed process committed, and clear the staging of
        those it never committed (their parts are orphans for `_recover`)."""
        pending = self._con.execute(
            "SELECT transaction_id, operation, work FROM catalog.pending"
        ).fetchall()
        for transaction_id, operation, work in pending:
            self._finish(transaction_id, json.loads(work), recovering=True)
            self.audit.record("recover", finished_transaction=transaction_id, operation=operation)
        staging = self.dir / "outbox" / PENDING_OUTBOX
        if staging.is_dir():
            for leftover in staging.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
                self.audit.record("recover", abandoned_transaction=leftover.name)

    def write_dataset(
        self,
        dataset: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        vault: bool | None = None,
        events: dict[str, date] | None = None,
        replace: bool = False,
        source: str = "local",
        row_destroy_by: str | None = None,
    ) -> Part:
        """Store a table as a new part of `dataset` (all rows or none), with the destroy-by
        date the policy's retention rules give for `events` (e.g. {'receipt': d}: data
        derived from a receipt is due when the receipt is). With `row_destroy_by`, the
        named date column gives each row its own date (the council's families, each due
        seven years after its own case closed) and retention removes rows as they fall
        due. With `replace`, earlier parts are destroyed once the new one is committed.
        Inside `transaction()`, it takes effect when the transaction commits."""
        reader = data if isinstance(data, pa.RecordBatchReader) else pa.RecordBatchReader.from_batches(
            data.schema, data.to_batches(max_chunksize=65_536)
        )
        fields = list(reader.schema.names)
        if row_destroy_by is not None and row_destroy_by not in fields:
            raise InputError(f"dataset '{dataset}' has no column '{row_destroy_by}'")
        location = self._location(dataset, fields, vault)
        destroy_by, rule = (
            (None, None) if row_destroy_by is not None
            else self.policy.destroy_by_rule(self.party, dataset, dict(events or {}))
        )
        with self.transaction(f"store {dataset}"):
            tx = self._active()
            part = self._write_part(
                dataset, reader, location, received=None, destroy_by=destroy_by,
                row_destroy_by=row_destroy_by, rule=rule,
            )
            if replace:
                reason = f"replaced by part {part.part_id}"
                already = {shred.part.part_id for shred in tx.replaced}
                tx.replaced += [
                    Shred(old, reason) for old in self.parts(dataset) if old.part_id not in already
                ]
                # A part this same transaction wrote earlier is replaced too.
                for earlier, _ in [x for x in tx.parts if x[0].dataset == dataset]:
                    self._discard_part(earlier.location, earlier.part_id)
                tx.parts = [x for x in tx.parts if x[0].dataset != dataset]
                tx.audit = [a for a in tx.audit
                            if not (a[0] == "store" and a[1]["dataset"] == dataset)]
            tx.parts.append((part, source))
            tx.audit.append((
                "store",
                {"dataset": dataset, "part": part.part_id, "location": location,
                 "rows": part.rows, "fields": fields,
                 "destroy_by": str(destroy_by) if destroy_by else None, "source": source},
            ))
        return part

    @contextlib.contextmanager
    def query(self, *datasets: str, purpose: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only DuckDB connection where each named dataset is a view (the union of
        its parts). Reading from the vault is logged as an identifier read."""
        con = connect(self.dir / "tmp")
        try:
            for dataset in datasets:
                parts = self.parts(dataset)
                if not parts:
                    self._refuse_destroyed(dataset)
                    raise InputError(f"dataset '{dataset}' is not held by node '{self.party}'")
                selects = []
                for index, part in enumerate(parts):
                    alias = f"read_{index}_{part.part_id}"
                    attach(con, self._part_path(part.location, part.part_id),
                           self.keyring.data_key(part.part_id), alias, read_only=True)
                    selects.append(f"SELECT * FROM {alias}.rows")
                view = _identifier(dataset)
                con.execute(f"CREATE TEMP VIEW {view} AS " + " UNION ALL BY NAME ".join(selects))
                vault = any(p.location == VAULT for p in parts)
                self.audit.record(
                    "identifier-read" if vault else "read", dataset=dataset,
                    parts=[p.part_id for p in parts], rows=sum(p.rows for p in parts),
                    purpose=purpose,
                )
            yield con
        finally:
            con.close()

    def read_part(self, part: Part, *, purpose: str | None = None) -> pa.Table:
        """One part's rows (retention splits a part whose rows fall due one by one)."""
        con = connect(self.dir / "tmp")
        try:
            attach(con, self._part_path(part.location, part.part_id),
                   self.keyring.data_key(part.part_id), "one_part", read_only=True)
            table = con.execute("SELECT * FROM one_part.rows").fetch_arrow_table()
        finally:
            con.close()
        self.audit.record(
            "identifier-read" if part.location == VAULT else "read", dataset=part.dataset,
            parts=[part.part_id], rows=part.rows, purpose=purpose,
        )
        return table

    def read_dataset(self, dataset: str, *, purpose: str | None = None) -> pa.Table:
        with self.query(dataset, purpose=purpose) as con:
            return con.execute(f"SELECT * FROM {_identifier(dataset)}").fetch_arrow_table()

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

    # --- sending and receiving ------------------------------------------------------

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
            part = self._write_part(
                dataset, opened.reader(), location, received=received, destroy_by=destroy_by,
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
        )
        # The package is not kept: it stays openable with this node's long-term key, so
        # keeping it would defeat crypto-shredding of the part. A receipt takes its place.
        self._set_aside(path, "imported", keep=False, done=True, extra={"part": part.part_id})
        return Received(path.name, True, "imported", dataset, part.rows, sender)

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


def unfinished_transactions(directory: Path | str) -> int:
    """Transactions a killed process left in a node's outbox staging: their packages
    reach the outbox (committed) or are dropped (not) when the node is next opened."""
    staging = Path(directory) / "outbox" / PENDING_OUTBOX
    return sum(1 for _ in staging.iterdir()) if staging.is_dir() else 0


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


_POLICIES: dict[str, Policy] = {}


def _policy_at(path: Path) -> Policy:
    """Load a policy, parsing each distinct text once per process: every command opens
    its node, and a process running several nodes (tests, the demo) opens many."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return load_policy(path)  # for its error message
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _POLICIES:
        _POLICIES[key] = parse_policy(text, source=str(path))
    return _POLICIES[key]


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _acquire_lock(directory: Path) -> Any:
    """One session at a time per node: two writers would interleave the audit chain."""
    handle = (directory / ".lock").open("a")
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise EvalinkError(f"{directory}: node is busy (another evalink is using it)") from None
            time.sleep(0.1)


def _release_lock(handle: Any) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()
