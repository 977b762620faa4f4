"""The `evalink` command line. See `app.py` for conventions.

Each module imported here registers its commands on `app`.
"""

from __future__ import annotations

from evalink.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
