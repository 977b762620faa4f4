"""The README's "whole flow" shell block, read as the list of commands it is, so a test
can run it exactly as a newcomer would type it.

The block may hold comments, `export NAME=value` lines, backslash continuations and
commands joined with `&&`; every command must be an `evalink` command, so that what
the README shows is all evalink, and all of it runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## The whole flow"
CLOCK_HEADING = "## On the programme's clock"
RELEASE_HEADING = "## Publishing: safe tables and the airlock"


@dataclass(frozen=True)
class Block:
    environment: dict[str, str]
    commands: list[list[str]]  # argv after `evalink`


def whole_flow(readme: Path = README, heading: str = HEADING) -> Block:
    """The commands of the first sh block under `heading`: the whole flow, or (with
    CLOCK_HEADING) what the programme's clock does to the nodes afterwards."""
    text = readme.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    if match is None:
        raise AssertionError(f"{readme}: no ```sh block under '{heading}'")
    environment: dict[str, str] = {}
    commands: list[list[str]] = []
    for line in match.group(1).replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words:
            if "&&" in words:
                cut = words.index("&&")
                command, words = words[:cut], words[cut + 1:]
            else:
                command, words = words, []
            if command[0] == "export":
                for assignment in command[1:]:
                    name, _, value = assignment.partition("=")
                    environment[name] = value
            elif command[0] == "evalink":
                commands.append(command[1:])
            else:
                raise AssertionError(f"README whole flow: not an evalink command: {command[0]}")
    return Block(environment, commands)
