"""CLI conventions every command shares: one line and exit 2 for user errors, no traceback."""

from __future__ import annotations

import pytest
import typer

from evalink.cli.app import app
from evalink.errors import InputError


@pytest.fixture
def failing_commands():
    """Two throwaway commands: one raising a user error, one a bug quoting data."""

    @app.command("boom-user", hidden=True)
    def boom_user() -> None:
        raise InputError("people.csv: column 'nino' is missing")

    @app.command("boom-bug", hidden=True)
    def boom_bug() -> None:
        raise ValueError("could not convert 'Jane Smith'")

    yield
    app.registered_commands[:] = [
        c for c in app.registered_commands if c.name not in ("boom-user", "boom-bug")
    ]


def test_a_user_error_is_one_line_and_exit_2(failing_commands, evalink):
    result = evalink("boom-user")
    assert result.exit_code == 2
    assert result.output == "error: people.csv: column 'nino' is missing\n"


def test_verbose_adds_the_traceback(failing_commands, evalink):
    result = evalink("--verbose", "boom-user")
    assert result.exit_code == 2
    assert "Traceback" in result.output


def test_an_unexpected_error_does_not_print_the_data_it_choked_on(failing_commands, evalink):
    result = evalink("boom-bug")
    assert result.exit_code == 1
    assert "Jane Smith" not in result.output
    assert "internal error (ValueError)" in result.output


def test_every_command_has_help(evalink):
    command = typer.main.get_command(app)
    for name, sub in command.commands.items():
        names = [name, *getattr(sub, "commands", {})] if hasattr(sub, "commands") else [name]
        for sub_name in names[1:] or [None]:
            args = [name, sub_name, "--help"] if sub_name else [name, "--help"]
            result = evalink(*args)
            assert result.exit_code == 0, args
            assert "Usage" in result.output
