"""`retention run` killed at any point: run again, and every due part is destroyed
exactly once, with one certificate each, and the audit log verifies.

A child process runs the retention and dies (os._exit, as kill -9: no clean-up code
runs) at the n-th step of the work that touches disk — a key ring save, a file
deletion, a rename, an audit entry, the catalog commit — for n drawn by Hypothesis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalink import retention
from tests.node.conftest import PASSPHRASE
from tests.retention.conftest import AFTER_2022, open_on

REPO = Path(__file__).resolve().parents[2]

DIE_AT_STEP = """
import os, pathlib
import evalink.audit.log as log_module
import evalink.node.keyring as keyring_module
import evalink.node.node as node_module
steps = [0]
def step():
    steps[0] += 1
    if steps[0] == {n}:
        os._exit(9)
def counted(owner, name):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        step()
        result = original(*args, **kwargs)
        step()
        return result
    setattr(owner, name, wrapper)
counted(keyring_module.KeyRing, "save")
counted(pathlib.Path, "unlink")
counted(os, "replace")
counted(log_module.AuditLog, "record")
counted(node_module.Node, "_commit")
counted(node_module.Node, "_finish")
"""


def _retention_in_a_child_that_dies(node_dir: Path, n: int) -> int:
    script = DIE_AT_STEP.format(n=n) + textwrap.dedent(f"""
        from datetime import date
        from evalink import retention
        from evalink.clock import clock_on
        from evalink.node import Node
        with Node.open({str(node_dir)!r}, {PASSPHRASE!r}, clock=clock_on(date(2023, 1, 1)),
                       retention=False) as node:
            retention.run(node)
        os._exit(0)
    """)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
    return subprocess.run([sys.executable, "-c", script], env=env, timeout=120).returncode


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=1, max_value=60))
def test_a_run_killed_anywhere_completes_once_when_run_again(linked, tmp_path_factory, n):
    network, _ = linked
    linker = tmp_path_factory.mktemp("crash") / "linker"
    shutil.copytree(network.dirs["linker"], linker)
    with open_on(linker, AFTER_2022, retention_first=False) as node:
        due = {p.part_id for p in node.parts()}

    code = _retention_in_a_child_that_dies(linker, n)
    assert code in (0, 9)

    with open_on(linker, AFTER_2022) as node:  # the next session finishes or redoes it
        again = retention.run(node)
        assert again.certificates == [] and node.parts() == []
        destroyed = node.destroyed()
        assert sorted(d["part"] for d in destroyed) == sorted(due)  # each exactly once
        issued = retention.certificates(node)
        assert sorted(c["certificate"]["media"]["part"] for c in issued) == sorted(due)
        assert retention.verify_certificates(node) == []
        assert node.keyring.data_key_ids() == set()
        report = node.verify_audit()
        assert report.ok, report.problem
    assert not any((linker / "store" / "parts").iterdir())
    assert not any((linker / "vault" / "parts").iterdir())
