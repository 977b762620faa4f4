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


def test_a_missing_option_is_one_line_naming_the_help(evalink):
    result = evalink("share")
    assert result.exit_code == 2
    assert result.stderr == "error: missing option '--node' (see `evalink share --help`)\n"
    assert result.output == result.stderr


def test_a_value_outside_the_choices_is_one_line(evalink, tmp_path):
    result = evalink(
        "link",
        "--left",
        tmp_path / "l.parquet",
        "--right",
        tmp_path / "r.parquet",
        "--out",
        tmp_path / "links.parquet",
        "--engine",
        "duckbd",
    )
    assert result.exit_code == 2
    assert result.output == (
        "error: invalid value for '--engine': 'duckbd' is not one of 'duckdb', 'spark' "
        "(see `evalink link --help`)\n"
    )


def test_an_unknown_command_is_one_line(evalink):
    result = evalink("sahre")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: no such command 'sahre'")
    assert result.output.endswith("(see `evalink --help`)\n")


def test_an_unknown_option_of_a_sub_command_is_one_line(evalink):
    result = evalink("node", "datasets", "--nod", "x")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "--nod" in result.output
    assert "(see `evalink node datasets --help`)" in result.output


def test_a_root_option_without_its_value_is_one_line(evalink):
    result = evalink("--passphrase-file")
    assert result.exit_code == 2
    assert result.output == (
        "error: option '--passphrase-file' requires an argument (see `evalink --help`)\n"
    )


@pytest.mark.parametrize("args", [[], ["node"], ["--help"], ["node", "--help"]])
def test_help_is_still_shown_without_arguments_and_with_help(evalink, args):
    result = evalink(*args)
    assert "Usage" in result.output and "error:" not in result.output
    assert result.exit_code in (0, 2)  # Click exits 2 when a group is given nothing


def test_commands_are_listed_in_the_order_of_the_flow(evalink):
    from evalink.cli.app import FLOW_ORDER

    listed = [
        line.strip("│ ").split()[0]
        for line in evalink("--help").output.split("Commands")[1].splitlines()
        if line.startswith("│ ") and line[2] != " "
    ]
    registered = typer.main.get_command(app).commands
    expected = [name for name in FLOW_ORDER if name in registered]
    assert listed[: len(expected)] == expected
    assert set(listed) == {n for n, c in registered.items() if not c.hidden}
    assert listed.index("policy") < listed.index("node") < listed.index("share")
    assert listed.index("share") < listed.index("receive") < listed.index("assemble")
