"""Benchmark: seal and open a 1,000,000-row identifier package (issue 3).

    .venv/bin/python benchmarks/node_package.py [--rows 1000000]

Two nodes (council → linker) under the example policy. Each direction runs in its own
process, so each peak is its own:

- seal: `Node.send` of an in-memory Arrow table (policy check, Arrow IPC + zstd,
  AES-256-GCM in 1 MiB chunks, Ed25519 signature) to the outbox;
- open: `Node.receive` of the delivered package (signature pass, decryption, schema and
  policy checks, import into a new encrypted DuckDB part in the identifier vault,
  checksum and row-count check, catalog commit).

Memory is reported as the peak resident set (VmHWM) minus the resident set just before
the step, i.e. above the data itself (the table in memory, for sealing). Target on
2 cores: under 10 s each way and under 1 GB above the data.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "examples" / "troubled-families.yaml"
PASSPHRASE = "benchmark passphrase, synthetic data only"


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def synthetic_identifiers(rows: int):
    """Invented people: distinct names, QQ NINOs (never issued), random dates."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(2024)
    index = pa.array(np.arange(rows)).cast(pa.string())
    stems = pa.array(["Zephyrine", "Quillon", "Marisabel", "Oswaldine", "Thaddeon", "Perpetua"])
    surnames = pa.array(["Thistlewaite", "Quorndon", "Blatherwick", "Pennycuick", "Vardystone"])
    pick = lambda values: values.take(pa.array(rng.integers(0, len(values), rows)))  # noqa: E731
    days = pa.array(rng.integers(-7000, 16000, rows).astype("int32")).cast(pa.date32())
    return pa.table({
        "reference_number": pc.binary_join_element_wise("REF", pc.utf8_lpad(index, 9, "0"), ""),
        "forename": pc.binary_join_element_wise(pick(stems), index, ""),
        "surname": pc.binary_join_element_wise(pick(surnames), index, ""),
        "dob": days.cast(pa.string()),
        "sex": pick(pa.array(["F", "M"])),
        "address": pc.binary_join_element_wise(
            pa.array(rng.integers(1, 300, rows)).cast(pa.string()), pick(pa.array(
                ["Wibbleton Crescent", "Upper Fenwick Road", "Sallowmere Lane"])), " "),
        "postcode": pc.binary_join_element_wise(
            "B6", pa.array(rng.integers(0, 10, rows)).cast(pa.string()), " ",
            pa.array(rng.integers(1, 10, rows)).cast(pa.string()), "ZZ", ""),
        "nino": pc.binary_join_element_wise(
            "QQ", pc.utf8_lpad(pa.array(rng.integers(0, 999_999, rows)).cast(pa.string()), 6, "0"),
            pick(pa.array(list("ABCD"))), ""),
    })


def phase(step: str, root: Path, rows: int) -> dict:
    from evalink.node import Node, deliver

    if step == "seal":
        table = synthetic_identifiers(rows)
        data_bytes = table.nbytes
        node = Node.open(root / "council", PASSPHRASE)
        reset_peak()
        before = rss_kib("VmRSS")
        start = time.perf_counter()
        path = node.send("linker", "identifiers", table)
        seconds = time.perf_counter() - start
        peak = rss_kib("VmHWM")
        package_bytes = path.stat().st_size
        node.close()
        deliver(root / "council", root / "linker")
        return {"step": "seal", "rows": rows, "seconds": seconds,
                "peak_above_data_mib": (peak - before) / 1024,
                "data_mib": data_bytes / 2**20, "package_mib": package_bytes / 2**20}
    node = Node.open(root / "linker", PASSPHRASE)
    reset_peak()
    before = rss_kib("VmRSS")
    start = time.perf_counter()
    (result,) = node.receive()
    seconds = time.perf_counter() - start
    peak = rss_kib("VmHWM")
    assert result.ok and result.rows == rows, result
    node.close()
    return {"step": "open", "rows": rows, "seconds": seconds,
            "peak_above_data_mib": (peak - before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=["seal", "open"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.root, args.rows)))
        return

    from evalink.node import Node, init_node

    with tempfile.TemporaryDirectory(prefix="evalink-bench-") as tmp:
        root = Path(tmp)
        for party in ("council", "linker"):
            init_node(root / party, party=party, policy_path=POLICY, passphrase=PASSPHRASE)
            with Node.open(root / party, PASSPHRASE) as node:
                node.export_public(root / f"{party}.pub.json")
        for a, b in (("council", "linker"), ("linker", "council")):
            with Node.open(root / a, PASSPHRASE) as node:
                node.trust(root / f"{b}.pub.json")
        results = []
        for step in ("seal", "open"):
            out = subprocess.run(
                [sys.executable, __file__, "--phase", step, "--root", str(root),
                 "--rows", str(args.rows)],
                check=False, capture_output=True, text=True, env=os.environ,
            )
            if out.returncode:
                sys.exit(f"{step} failed:\n{out.stderr}")
            out = out.stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    for r in results:
        extra = (f", table {r['data_mib']:.0f} MiB in memory, package {r['package_mib']:.0f} MiB"
                 if r["step"] == "seal" else "")
        print(f"{r['step']:>4} {r['rows']:,} rows: {r['seconds']:.2f} s, "
              f"peak {r['peak_above_data_mib']:.0f} MiB above the data{extra}")


if __name__ == "__main__":
    main()
