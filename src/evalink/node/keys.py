"""A node's own keys and the keys it trusts: its fingerprint, its passphrase, its
public key file for other parties, and their public key files (checked against the
policy, a changed key refused unless confirmed). The formats are in keyring.py (the
wrapped keys) and trust.py (public key files)."""

from __future__ import annotations

import json
from pathlib import Path

from evalink.errors import EvalinkError, InputError
from evalink.files import write_text_atomic
from evalink.node.trust import PartyKeys, parse_public_key_document, public_key_document


class KeysAndTrust:
    """The node's keys and the parties it trusts (mixed into `Node`)."""

    @property
    def fingerprint(self) -> str:
        from evalink.node.trust import fingerprint

        keys = self.keyring.public_keys()
        return fingerprint(keys["x25519"], keys["ed25519"])

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
