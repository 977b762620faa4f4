"""Named random streams.

Each concept draws from its own stream, keyed by the world seed and a stable name, so
adding a draw in one module never shifts the numbers another module sees: same seed,
same world, byte for byte, even as the generator grows.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator for `name` within the world made from `seed`."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))
