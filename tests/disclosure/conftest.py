"""One empty research node for the session: the register and `evalink table` tests each
copy it (making a key ring costs time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalink.node import init_node
from tests.conftest import EXAMPLE_POLICY

PASSPHRASE = "synthetic test passphrase"


@pytest.fixture(scope="session")
def _empty_research(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVALINK_SCRYPT_LOG2N", "10")
        directory = tmp_path_factory.mktemp("template") / "research"
        init_node(directory, party="research", policy_path=EXAMPLE_POLICY, passphrase=PASSPHRASE)
    return directory
