"""The README's publishing block, run exactly as written after its whole flow (see
tests/flow/readme.py): a safe table, two reviewers, the public node."""

from __future__ import annotations

import hashlib

import pandas as pd

from evalink.node import Node
from evalink.release import published
from tests.flow.conftest import ReadmeRun, environment


def test_the_public_node_holds_the_table_byte_for_byte_as_it_was_reviewed(
    readme_run: ReadmeRun, release_run: ReadmeRun
):
    table = release_run.work / "outputs" / "by_family_size.csv"
    passphrase = readme_run.block.environment["EVALINK_PASSPHRASE"]
    with environment({"EVALINK_SCRYPT_LOG2N": "10"}), Node.open(
        release_run.snapshots[-1] / "public", passphrase, retention=False
    ) as public:
        (held,) = published(public)
    assert held.file == "by_family_size.csv"
    assert held.sha256 == hashlib.sha256(table.read_bytes()).hexdigest()
    assert (release_run.work / "site" / "by_family_size.csv").read_bytes() == table.read_bytes()


def test_the_published_table_shows_no_count_the_rules_forbid(release_run: ReadmeRun):
    frame = pd.read_csv(release_run.work / "site" / "by_family_size.csv")
    counts = frame.drop(columns=["family_size"]).stack().dropna()
    assert all(c >= 10 and c % 5 == 0 for c in counts)
    # The checks file stays with the researcher: never published.
    assert not (release_run.work / "site" / "by_family_size.checks.csv").exists()
    assert (release_run.work / "outputs" / "by_family_size.checks.csv").exists()
