"""The example policy, mappings and rules shipped with evalink (also at `examples/` in
the repository). Commands default to these, so they work from any directory."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent


def example(name: str) -> Path:
    return EXAMPLES / name
