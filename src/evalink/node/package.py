"""Sealed transfer packages: encrypted to the recipient, signed by the sender.

Layout of a package file (all integers big-endian):

    b"EVLKPKG1"                      magic
    u32 + header JSON                in clear: format, package id, sender and its key,
                                     recipient and its key, ephemeral X25519 key, time
    records, each u8 kind + u32 length + bytes:
      b"D"  data chunk i             AES-256-GCM, nonce = b"DATA" + i
      b"M"  manifest (last)          AES-256-GCM, nonce = b"MNFS" + 0; carries the chunk
                                     count, so a dropped chunk or a cut file is refused
      b"S"  Ed25519 signature        over SHA-256 of every byte before this record

The content key is HKDF-SHA256 of X25519(ephemeral, recipient) with the SHA-256 of the
header as context: only the recipient's private key opens it, and because the header
names the sender's signing key, a third party cannot strip the signature and re-sign
the package as its own (the key would no longer match). Every chunk's associated data
is the header hash too. Only routing data is in clear; the manifest (dataset, fields,
row count, checksum, purpose, policy) is encrypted, since even counts and field names
say something about who is in the study.

The payload is an Arrow IPC stream (zstd-compressed buffers) written and read through
fixed-size encrypted chunks, so memory stays flat whatever the row count.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evalink.errors import EvalinkError
from evalink.node.keyring import b64, raw_public, unb64

MAGIC = b"EVLKPKG1"
FORMAT = "evalink-package/1"
PAYLOAD_FORMAT = "arrow-ipc-stream"
CHUNK_SIZE = 1 << 20  # 1 MiB of plaintext per chunk
SUFFIX = ".evpkg"
_MAX_HEADER = 64 * 1024
_MAX_RECORD = 2 * CHUNK_SIZE
_BATCH_ROWS = 65_536


class PackageRefused(EvalinkError):
    """A package that must not be imported: damaged, forged, misaddressed or replayed."""


def key_fingerprint(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:32]


@dataclass(frozen=True)
class Header:
    raw: bytes
    fields: dict[str, Any]

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]


def _content_key(shared: bytes, header: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None,
        info=b"evalink-package/1|" + hashlib.sha256(header).digest(),
    ).derive(shared)


def _nonce(tag: bytes, index: int) -> bytes:
    return tag + struct.pack(">Q", index)


def _signed_message(transcript_digest: bytes) -> bytes:
    return b"evalink-package-signature/1|" + transcript_digest


class _Writer:
    """Counts and hashes every byte written, for the signature."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.out.write(data)

    def record(self, kind: bytes, body: bytes) -> None:
        self.write(kind + struct.pack(">I", len(body)) + body)


class _EncryptingSink(io.RawIOBase):
    """A write-only file for pyarrow: buffers plaintext, emits encrypted chunks."""

    def __init__(self, writer: _Writer, aead: AESGCM, aad: bytes) -> None:
        super().__init__()
        self.writer, self.aead, self.aad = writer, aead, aad
        self.buffer = bytearray()
        self.chunks = 0
        self.plain_bytes = 0
        self.plain_hash = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        self.buffer += view
        self.plain_hash.update(view)
        self.plain_bytes += len(view)
        while len(self.buffer) >= CHUNK_SIZE:
            self._emit(bytes(self.buffer[:CHUNK_SIZE]))
            del self.buffer[:CHUNK_SIZE]
        return len(view)

    def _emit(self, plain: bytes) -> None:
        sealed = self.aead.encrypt(_nonce(b"DATA", self.chunks), plain, self.aad)
        self.writer.record(b"D", sealed)
        self.chunks += 1

    def finish(self) -> None:
        if self.buffer or self.chunks == 0:
            self._emit(bytes(self.buffer))
            self.buffer.clear()


def _batches(data: pa.Table | pa.RecordBatchReader) -> tuple[pa.Schema, Iterable[pa.RecordBatch]]:
    if isinstance(data, pa.Table):
        return data.schema, data.to_batches(max_chunksize=_BATCH_ROWS)
    return data.schema, data


def seal(
    out: BinaryIO,
    data: pa.Table | pa.RecordBatchReader,
    *,
    manifest: dict[str, Any],
    sender: str,
    signing_key: Ed25519PrivateKey,
    recipient: str,
    recipient_key: X25519PublicKey,
    created: datetime | None = None,
) -> dict[str, Any]:
    """Write a sealed package to `out`; returns the full manifest (with rows, checksum)."""
    created = created or datetime.now(UTC)
    ephemeral = X25519PrivateKey.generate()
    header = {
        "format": FORMAT,
        "package_id": secrets.token_hex(16),
        "created": created.isoformat(timespec="seconds"),
        "sender": sender,
        "sender_key": key_fingerprint(raw_public(signing_key.public_key())),
        "recipient": recipient,
        "recipient_key": key_fingerprint(raw_public(recipient_key)),
        "ephemeral": b64(raw_public(ephemeral.public_key())),
        "chunk_size": CHUNK_SIZE,
    }
    header_raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    aead = AESGCM(_content_key(ephemeral.exchange(recipient_key), header_raw))
    aad = hashlib.sha256(header_raw).digest()

    writer = _Writer(out)
    writer.write(MAGIC + struct.pack(">I", len(header_raw)) + header_raw)
    sink = _EncryptingSink(writer, aead, aad)
    schema, batches = _batches(data)
    rows = 0
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, schema, options=options) as stream:
        for batch in batches:
            stream.write_batch(batch)
            rows += batch.num_rows
    sink.finish()
    full = {
        **manifest,
        "package_id": header["package_id"],
        "sender": sender,
        "recipient": recipient,
        "created": header["created"],
        "fields": schema.names,
        "rows": rows,
        "sha256": sink.plain_hash.hexdigest(),
        "payload": PAYLOAD_FORMAT,
        "payload_bytes": sink.plain_bytes,
        "chunks": sink.chunks,
    }
    manifest_raw = json.dumps(full, sort_keys=True, separators=(",", ":")).encode()
    writer.record(b"M", aead.encrypt(_nonce(b"MNFS", 0), manifest_raw, aad))
    signature = signing_key.sign(_signed_message(writer.hash.digest()))
    out.write(b"S" + struct.pack(">I", len(signature)) + signature)
    return full


# --- opening ----------------------------------------------------------------------------


def read_header(path: Path) -> Header:
    """The clear header: enough to route a package and pick the keys to check it with."""
    with path.open("rb") as handle:
        return _read_header(handle, path)


def _read_header(handle: BinaryIO, path: Path) -> Header:
    start = handle.read(len(MAGIC) + 4)
    if len(start) < len(MAGIC) + 4 or start[: len(MAGIC)] != MAGIC:
        raise PackageRefused(f"{path.name}: not an evalink package")
    (length,) = struct.unpack(">I", start[len(MAGIC):])
    if length > _MAX_HEADER:
        raise PackageRefused(f"{path.name}: header too large (damaged)")
    raw = handle.read(length)
    try:
        fields = json.loads(raw)
        if not isinstance(fields, dict) or fields.get("format") != FORMAT:
            raise ValueError
        for key in ("package_id", "sender", "sender_key", "recipient", "recipient_key",
                    "ephemeral", "created"):
            if not isinstance(fields.get(key), str):
                raise ValueError
    except ValueError:
        raise PackageRefused(f"{path.name}: header is damaged") from None
    return Header(raw, fields)


@dataclass
class _Layout:
    data: list[tuple[int, int]]  # (offset, length) of each data record body
    manifest: tuple[int, int]
    signature: bytes
    transcript: bytes


def _scan(handle: BinaryIO, path: Path, header: Header) -> _Layout:
    """One pass over the file: record boundaries, and the hash the signature covers."""
    transcript = hashlib.sha256()
    handle.seek(0)
    transcript.update(handle.read(len(MAGIC) + 4 + len(header.raw)))
    offset = len(MAGIC) + 4 + len(header.raw)
    data: list[tuple[int, int]] = []
    manifest: tuple[int, int] | None = None
    while True:
        prefix = handle.read(5)
        if len(prefix) < 5:
            raise PackageRefused(f"{path.name}: package is cut short (truncated)")
        kind, length = prefix[:1], struct.unpack(">I", prefix[1:])[0]
        if kind == b"S":
            signature = handle.read(length)
            if length != 64 or len(signature) != 64 or handle.read(1):
                raise PackageRefused(f"{path.name}: signature record is damaged")
            if manifest is None:
                raise PackageRefused(f"{path.name}: package has no manifest")
            return _Layout(data, manifest, signature, transcript.digest())
        if kind not in (b"D", b"M") or length > _MAX_RECORD or manifest is not None:
            raise PackageRefused(f"{path.name}: package structure is damaged")
        transcript.update(prefix)
        remaining = length
        while remaining:
            piece = handle.read(min(remaining, 1 << 20))
            if not piece:
                raise PackageRefused(f"{path.name}: package is cut short (truncated)")
            transcript.update(piece)
            remaining -= len(piece)
        body = (offset + 5, length)
        if kind == b"D":
            data.append(body)
        else:
            manifest = body
        offset += 5 + length


class OpenedPackage:
    """A package whose signature, addressee and manifest have been checked.

    `batches()` decrypts the payload as a stream; `finish()` must then confirm the row
    count and checksum before anything read is committed.
    """

    def __init__(
        self, path: Path, header: Header, layout: _Layout, aead: AESGCM, manifest: dict[str, Any]
    ) -> None:
        self.path, self.header, self.layout = path, header, layout
        self._aead = aead
        self.manifest = manifest
        self.rows_read = 0
        self._source: _DecryptingSource | None = None

    def reader(self) -> pa.RecordBatchReader:
        self._source = _DecryptingSource(self.path, self.layout, self._aead, self.header.digest)
        try:
            stream = pa.ipc.open_stream(self._source)
        except pa.ArrowException:
            raise PackageRefused(f"{self.path.name}: payload is damaged") from None
        if stream.schema.names != list(self.manifest["fields"]):
            raise PackageRefused(f"{self.path.name}: payload fields differ from its manifest")
        return pa.RecordBatchReader.from_batches(stream.schema, self._count(stream))

    def _count(self, stream: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        for batch in stream:
            self.rows_read += batch.num_rows
            yield batch

    def finish(self) -> None:
        """Raise unless every chunk was read and rows and checksum match the manifest."""
        source = self._source
        if source is None:
            raise PackageRefused(f"{self.path.name}: payload was not read")
        source.drain()
        if source.plain_hash.hexdigest() != self.manifest["sha256"]:
            raise PackageRefused(f"{self.path.name}: checksum does not match its manifest")
        if self.rows_read != self.manifest["rows"]:
            raise PackageRefused(
                f"{self.path.name}: {self.rows_read} rows read, manifest says "
                f"{self.manifest['rows']}"
            )


class _DecryptingSource(io.RawIOBase):
    """A read-only file for pyarrow over the decrypted chunks, hashing as it goes."""

    def __init__(self, path: Path, layout: _Layout, aead: AESGCM, aad: bytes) -> None:
        super().__init__()
        self.path, self.layout, self.aead, self.aad = path, layout, aead, aad
        self.handle = path.open("rb")
        self.index = 0
        self.buffer = b""
        self.position = 0
        self.plain_hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        if self.index >= len(self.layout.data):
            return False
        offset, length = self.layout.data[self.index]
        self.handle.seek(offset)
        sealed = self.handle.read(length)
        try:
            plain = self.aead.decrypt(_nonce(b"DATA", self.index), sealed, self.aad)
        except InvalidTag:
            raise PackageRefused(f"{self.path.name}: data chunk {self.index} fails its check") from None
        self.plain_hash.update(plain)
        self.index += 1
        self.buffer = self.buffer[self.position:] + plain
        self.position = 0
        return True

    def readinto(self, target: Any) -> int:  # type: ignore[override]
        view = memoryview(target).cast("B")
        while len(self.buffer) - self.position < len(view):
            if not self._next_chunk():
                break
        count = min(len(view), len(self.buffer) - self.position)
        view[:count] = self.buffer[self.position:self.position + count]
        self.position += count
        return count

    def drain(self) -> None:
        while self._next_chunk():
            self.position = len(self.buffer)
        self.handle.close()

    def close(self) -> None:
        self.handle.close()
        super().close()


def open_package(
    path: Path,
    *,
    party: str,
    encryption_key: X25519PrivateKey,
    sender_key: Ed25519PublicKey,
) -> OpenedPackage:
    """Check the package at `path` is addressed to `party` and signed by `sender_key`,
    and decrypt its manifest. The payload is not read yet."""
    with path.open("rb") as handle:
        header = _read_header(handle, path)
        own = key_fingerprint(raw_public(encryption_key.public_key()))
        if header["recipient"] != party or header["recipient_key"] != own:
            raise PackageRefused(
                f"{path.name}: addressed to '{header['recipient']}', not to this node "
                f"('{party}'); it cannot be opened here"
            )
        if header["sender_key"] != key_fingerprint(raw_public(sender_key)):
            raise PackageRefused(
                f"{path.name}: signed with a key that is not the trusted key of "
                f"'{header['sender']}'"
            )
        layout = _scan(handle, path, header)
        try:
            sender_key.verify(layout.signature, _signed_message(layout.transcript))
        except InvalidSignature:
            raise PackageRefused(
                f"{path.name}: signature does not verify (altered, or not from "
                f"'{header['sender']}')"
            ) from None
        try:
            ephemeral = X25519PublicKey.from_public_bytes(unb64(header["ephemeral"]))
            aead = AESGCM(_content_key(encryption_key.exchange(ephemeral), header.raw))
            handle.seek(layout.manifest[0])
            sealed = handle.read(layout.manifest[1])
            manifest = json.loads(aead.decrypt(_nonce(b"MNFS", 0), sealed, header.digest))
        except (InvalidTag, ValueError):
            raise PackageRefused(f"{path.name}: cannot be decrypted with this node's key") from None
    if not isinstance(manifest, dict):
        raise PackageRefused(f"{path.name}: manifest is damaged")
    for key in ("package_id", "sender", "recipient"):
        if manifest.get(key) != header[key]:
            raise PackageRefused(f"{path.name}: manifest and header disagree on '{key}'")
    if manifest.get("chunks") != len(layout.data):
        raise PackageRefused(f"{path.name}: has {len(layout.data)} data chunks, manifest says "
                             f"{manifest.get('chunks')}")
    return OpenedPackage(path, header, layout, aead, manifest)
