"""Worlds shared by the synth tests, each generated once per session.

- `small_world`: a few hundred families, for layout and determinism tests (~1 s).
- `big_world`: 40,000 families in 170,000 people, big enough for rates within tight
  tolerances and for planted effects to be seen; some effects are exaggerated so the
  test can show they are recovered, not merely not contradicted (~12 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evalink.synth import generate
from tests.synth.recover import BIG_EFFECTS


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "small"
    generate(out, families=300, population=8000, seed=11)
    return out


@pytest.fixture(scope="session")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "big"
    generate(out, families=40_000, population=170_000, seed=7, effects=BIG_EFFECTS)
    return out
