"""The root `evalink` command, its console and its error handling.

Command modules beside this one register their commands on `app`; they parse arguments
and call a stage's public function, nothing more. Stage imports stay inside the command
functions so `evalink --help` does not pay for Splink or Spark.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from evalink.errors import EvalinkError

# soft_wrap: a line the user may grep or copy (an error, a path) is never broken in two.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

_state = {"verbose": False}


def verbose() -> bool:
    return _state["verbose"]


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


class _EvalinkGroup(TyperGroup):
    """Turns an `EvalinkError` raised anywhere below into one line and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EvalinkError as error:
            _report(error, expected=True)
            raise typer.Exit(error.exit_code) from None
        except Exception as error:
            if _is_cli_signal(error):
                raise
            _report(error, expected=False)
            raise typer.Exit(1) from None


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


app = typer.Typer(
    cls=_EvalinkGroup,
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
) -> None:
    _state["verbose"] = verbose_flag
    logging.basicConfig(
        level=logging.DEBUG if verbose_flag else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
