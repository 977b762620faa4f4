"""Where a node's passphrase comes from, in this order:

    --passphrase-file FILE      (on the command, or before it: `evalink --passphrase-file F ...`)
    EVALINK_PASSPHRASE          (an empty value counts as unset)
    EVALINK_PASSPHRASE_FILE
    a hidden prompt             (only when standard input is a terminal)

and otherwise one line saying so, exit 2: under cron or CI there is no one to ask, and
waiting on a prompt nobody sees, or failing with `Aborted.`, helps no one. The new
passphrase of `node passphrase` follows the same order with EVALINK_NEW_PASSPHRASE.

Never a command-line argument: arguments end up in shell history and process listings.
Never echoed, and never in a message.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import typer

from evalink.cli.app import global_passphrase_file
from evalink.errors import InputError


@dataclass(frozen=True)
class Source:
    variable: str
    file_variable: str
    file_option: str
    prompt: str


CURRENT = Source(
    "EVALINK_PASSPHRASE", "EVALINK_PASSPHRASE_FILE", "--passphrase-file", "Node passphrase"
)
NEW = Source(
    "EVALINK_NEW_PASSPHRASE",
    "EVALINK_NEW_PASSPHRASE_FILE",
    "--new-passphrase-file",
    "New passphrase",
)


def node_passphrase(file: Path | None = None, *, confirm: bool = False) -> str:
    """The passphrase of the node a command opens (or creates, with `confirm`)."""
    return read_passphrase(CURRENT, _one_file(file, global_passphrase_file()), confirm=confirm)


def new_passphrase(file: Path | None = None) -> str:
    """The passphrase `node passphrase` changes to."""
    return read_passphrase(NEW, file, confirm=True)


def read_passphrase(source: Source, file: Path | None, *, confirm: bool = False) -> str:
    if file is not None:
        return read_passphrase_file(file, source.file_option)
    value = os.environ.get(source.variable)
    if value:
        return value
    from_file = os.environ.get(source.file_variable)
    if from_file:
        return read_passphrase_file(Path(from_file), source.file_variable)
    if stdin_is_a_terminal():
        return str(typer.prompt(source.prompt, hide_input=True, confirmation_prompt=confirm))
    state = "is empty" if value == "" else "is not set"
    raise InputError(
        f"no passphrase: {source.variable} {state} and standard input is not a terminal to "
        f"ask on; set {source.variable}, or give {source.file_option} FILE "
        f"(or {source.file_variable}=FILE)"
    )


def stdin_is_a_terminal() -> bool:
    """Whether someone may be there to answer a prompt (not cron, CI or a pipe)."""
    return sys.stdin is not None and sys.stdin.isatty()


def read_passphrase_file(path: Path, label: str) -> str:
    """The whole file but one trailing newline (an editor's or `echo`'s); refused if
    anyone but its owner may read or change it, as ssh refuses a private key."""
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & 0o077:
            raise InputError(
                f"{label}: {path} can be read or written by others "
                f"(mode {stat.S_IMODE(mode):03o}); run `chmod 600 {path}`"
            )
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"{label}: cannot read {path} ({type(error).__name__})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{label}: {path} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise InputError(f"{label}: {path} is empty")
    return text


def _one_file(on_command: Path | None, before_command: Path | None) -> Path | None:
    if on_command and before_command and on_command.resolve() != before_command.resolve():
        raise InputError(
            f"--passphrase-file is given twice, as {before_command} and {on_command}; give it once"
        )
    return on_command or before_command
