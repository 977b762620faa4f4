"""An import killed half-way leaves no rows behind, and the same package imports whole
on the next try. The kill is real: a child process dies with os._exit mid-import."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from evalink.node import deliver
from tests.node.conftest import PASSPHRASE, Network

REPO = Path(__file__).resolve().parents[2]

# Where the child dies: after the payload's third chunk is decrypted (rows are being
# written to the part file), or after the whole part is written, just before the
# catalog commit that makes it visible.
KILL_MID_STREAM = """
import evalink.node.package as package
original = package._DecryptingSource._next_chunk
def dying(self):
    if self.index == 3:
        os._exit(9)
    return original(self)
package._DecryptingSource._next_chunk = dying
"""
KILL_BEFORE_COMMIT = """
import evalink.node.node as node_module
def dying(self, part, source, package):
    os._exit(9)
node_module.Node._commit_part = dying
"""


def _receive_in_a_child_that_dies(node_dir: Path, sabotage: str) -> int:
    script = "import os\n" + sabotage + textwrap.dedent(f"""
        from evalink.node import Node
        with Node.open({str(node_dir)!r}, {PASSPHRASE!r}) as node:
            node.receive()
        os._exit(0)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-c", script], env=env, timeout=120).returncode


@pytest.mark.parametrize("sabotage", [KILL_MID_STREAM, KILL_BEFORE_COMMIT],
                         ids=["killed-mid-stream", "killed-before-commit"])
def test_an_import_killed_half_way_leaves_no_rows_and_can_be_retried(
    council_linker: Network, sabotage: str
):
    # Incompressible values so the payload spans several 1 MiB chunks.
    rows = 80_000
    table = pa.table({
        "reference_number": [f"REF{i:06d}" for i in range(rows)],
        "forename": [secrets.token_hex(12) for _ in range(rows)],
        "surname": [secrets.token_hex(12) for _ in range(rows)],
    })
    with council_linker.open("council") as council:
        council.send("linker", "identifiers", table)
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    linker_dir = council_linker.dirs["linker"]

    assert _receive_in_a_child_that_dies(linker_dir, sabotage) == 9

    with council_linker.open("linker") as linker:
        # Opening cleans up what the dead process left: no part, no file, no key.
        assert linker.parts() == []
        assert list((linker_dir / "vault" / "parts").iterdir()) == []
        assert linker.keyring.data_key_ids() == set()
        # The package is still waiting in the inbox; the retry imports every row.
        assert len(list((linker_dir / "inbox").glob("*.evpkg"))) == 1
        (result,) = linker.receive()
        assert result.ok and result.rows == rows
        assert linker.read_dataset("identifiers").num_rows == rows
        assert linker.verify_audit().ok


KILL_AFTER_COMMIT = """
import evalink.node.node as node_module
def dying(self, path, outcome, **kwargs):
    os._exit(9)
node_module.Node._set_aside = dying
"""


def test_an_import_killed_after_its_commit_is_held_once_and_the_retry_succeeds(
    council_linker: Network,
):
    with council_linker.open("council") as council:
        council.send("linker", "identifiers", pa.table({"reference_number": ["R1", "R2"]}))
    deliver(council_linker.dirs["council"], council_linker.dirs["linker"])
    linker_dir = council_linker.dirs["linker"]

    assert _receive_in_a_child_that_dies(linker_dir, KILL_AFTER_COMMIT) == 9

    with council_linker.open("linker") as linker:
        (result,) = linker.receive()
        # Not refused as a replay: the retry of an interrupted receive succeeds.
        assert result.ok and result.rows == 2
        assert linker.read_dataset("identifiers").num_rows == 2
        assert list((linker_dir / "inbox").glob("*.evpkg")) == []
        assert linker.receive() == []
