"""The `evalink` command line. See `app.py` for conventions.

Each module imported here registers its commands on `app`.
"""

from __future__ import annotations

from evalink.cli import audit as _audit  # noqa: F401
from evalink.cli import demo as _demo  # noqa: F401
from evalink.cli import evaluate as _evaluate  # noqa: F401
from evalink.cli import flow as _flow  # noqa: F401
from evalink.cli import identify as _identify  # noqa: F401
from evalink.cli import intruder as _intruder  # noqa: F401
from evalink.cli import link as _link  # noqa: F401
from evalink.cli import node as _node  # noqa: F401
from evalink.cli import policy as _policy  # noqa: F401
from evalink.cli import promises as _promises  # noqa: F401
from evalink.cli import release as _release  # noqa: F401
from evalink.cli import retention as _retention  # noqa: F401
from evalink.cli import synth as _synth  # noqa: F401
from evalink.cli import table as _table  # noqa: F401
from evalink.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
