"""The root `evalink` command, its console and its error handling.

Command modules beside this one register their commands on `app`; they parse arguments
and call a stage's public function, nothing more. Stage imports stay inside the command
functions so `evalink --help` does not pay for Splink or Spark.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from evalink.cli.options import DateOption, PassphraseFile
from evalink.clock import Clock, clock_on, today_from_environment
from evalink.errors import EvalinkError

# Typer raises the usage errors of the Click it runs on: its own vendored copy
# (typer._click) in recent versions, the `click` package in older ones. Take the class
# from wherever typer.BadParameter comes from rather than naming either.
UsageError: type[Exception] = importlib.import_module(typer.BadParameter.__module__).UsageError

# soft_wrap: a line the user may grep or copy (an error, a path) is never broken in two.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

_state: dict[str, Any] = {"verbose": False, "passphrase_file": None, "today": None}


def verbose() -> bool:
    return bool(_state["verbose"])


def clock() -> Clock:
    """The clock every command acts on: `evalink --today`, else EVALINK_TODAY, else the
    system's (see evalink.clock)."""
    return clock_on(_state["today"] or today_from_environment())


def global_passphrase_file() -> Path | None:
    """`evalink --passphrase-file F COMMAND ...`: F, for any command that opens a node."""
    return _state["passphrase_file"]


def _report(error: BaseException, *, expected: bool) -> None:
    if expected:
        message = f"error: {error}"
    else:
        # An exception we did not anticipate: its message may quote the data it choked
        # on, so show only its type unless the user asks for the details.
        message = f"error: internal error ({type(error).__name__}); run with --verbose for details"
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    if _state["verbose"]:
        err_console.print(traceback.format_exc(), markup=False, highlight=False)


def _report_usage(error: Any, ctx: Any) -> None:
    """A usage error (missing option, bad value, unknown command) as one line naming the
    help to read, instead of Click's usage box."""
    message = error.format_message().replace("Value error, ", "").strip().rstrip(".")
    message = message[:1].lower() + message[1:]
    if error.ctx is not None:
        path = error.ctx.command_path.split()
    elif ctx is not None:  # raised by a command's own code: the sub-command this group ran
        path = [*ctx.command_path.split(), *filter(None, [ctx.invoked_subcommand])]
    else:
        path = []
    # Under the test runner the program is called "root"; to the user it is `evalink`.
    command = " ".join(["evalink", *path[1:]])
    err_console.print(f"error: {message} (see `{command} --help`)", markup=False, highlight=False)


def _is_help(error: Exception) -> bool:
    """`evalink node` with nothing after it: Click signals its help with a usage error."""
    return type(error).__name__ == "NoArgsIsHelpError"


class _EvalinkGroup(TyperGroup):
    """Turns an `EvalinkError` raised anywhere below into one line and exit code 2, and a
    usage error into one line and exit code 2 too."""

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        # The group's own options are parsed here, before `invoke`:
        # `evalink --passphrase-file` with no FILE fails in this call.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as error:
            if _is_help(error):
                raise
            _report_usage(error, None)
            raise typer.Exit(2) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as error:
            if _is_help(error):
                raise
            _report_usage(error, ctx)
            raise typer.Exit(2) from None
        except EvalinkError as error:
            _report(error, expected=True)
            raise typer.Exit(error.exit_code) from None
        except Exception as error:
            if _is_cli_signal(error):
                raise
            _report(error, expected=False)
            raise typer.Exit(1) from None


class Command(TyperCommand):
    """A command whose hidden arguments (an old form kept working for scripts) are left
    out of the usage line as well as the help: `@node_app.command("init", cls=Command)`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not getattr(param, "hidden", False):
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def _is_cli_signal(error: Exception) -> bool:
    """Usage errors, --help and exits belong to Typer (which vendors its own Click)."""
    if isinstance(error, typer.Exit | typer.Abort | typer.TyperException):
        return True
    return type(error).__module__.split(".")[0] in ("click", "typer")


@contextmanager
def spinner(first: str) -> Iterator[Callable[[str], None]]:
    """A transient progress display on standard error for a long step with named
    phases; yields the function that names the current phase."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(first, total=None)
        yield lambda phase: bar.update(task, description=phase)


def group(help_text: str) -> typer.Typer:
    """A sub-command group (`evalink policy ...`) with the same conventions as the root."""
    return typer.Typer(
        cls=_EvalinkGroup,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )


# `evalink --help` lists the commands in the order a project uses them, not
# alphabetically. A name not registered (yet) is skipped; one missing from this list
# comes at the end.
FLOW_ORDER = (
    "policy",
    "notice",
    "ropa",
    "synth",
    "node",
    "flow",
    "identify",
    "share",
    "send",
    "deliver",
    "receive",
    "dispatch",
    "match",
    "assemble",
    "export",
    "evaluate",
    "table",
    "release",
    "audit",
    "retention",
    "promises",
    "link",
    "demo",
)


class _RootGroup(_EvalinkGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        registered = super().list_commands(ctx)
        ordered = [name for name in FLOW_ORDER if name in registered]
        return ordered + [name for name in registered if name not in ordered]


app = typer.Typer(
    cls=_RootGroup,
    help="evalink: governed record linkage and programme evaluation for public services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=False,
)


@app.callback()
def _root(
    verbose_flag: bool = typer.Option(
        False, "--verbose", "-v", help="Show details and tracebacks of errors."
    ),
    passphrase_file: Path | None = PassphraseFile,
    today: date | None = DateOption(
        None,
        "--today",
        help="Act as if today were this day (retention, receipt dates); else EVALINK_TODAY, "
        "else the system date. The audit log keeps the real time beside it.",
    ),
) -> None:
    _state["verbose"] = verbose_flag
    _state["passphrase_file"] = passphrase_file
    _state["today"] = today
    logging.basicConfig(
        level=logging.DEBUG if verbose_flag else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
