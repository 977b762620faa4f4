"""Reading the YAML files users write (policy, rules, mappings) into pydantic models.

Every problem becomes one line naming the file, the place in the document
(`flows[3].fields[1]`) and what is wrong. Duplicate keys are errors: PyYAML would keep
the last silently, and in a rules file that hides a rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from evalink.errors import InputError

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key: let the constructor report it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def path_text(loc: tuple[int | str, ...]) -> str:
    """('flows', 3, 'fields', 1) → 'flows[3].fields[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", str(part)):
            out += ("." if out else "") + str(part)
        else:
            # A key with spaces, dots or line breaks is quoted, so the path stays one line.
            out += f"[{json.dumps(str(part))}]"
    return out or "(document)"


def parse_yaml(text: str, source: str, error: type[Exception] = InputError) -> dict:
    """YAML text → a mapping, or `error` naming `source`, the line and the fault."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise error(
            f"{source}: {where}invalid YAML: {problem.problem or problem.context}"
        ) from None
    except yaml.YAMLError as problem:
        raise error(f"{source}: invalid YAML ({type(problem).__name__})") from None
    if not isinstance(raw, dict):
        kind = "nothing" if raw is None else type(raw).__name__
        raise error(f"{source}: (document): expected a mapping of sections, got {kind}")
    return raw


def validation_problems(failure: ValidationError) -> list[Problem]:
    problems = []
    for item in failure.errors(include_url=False, include_input=False):
        # Pydantic names the union member that failed ('function-after', ...): a user
        # wants the place in their document, so keep only document keys.
        loc = tuple(
            p for p in item["loc"] if isinstance(p, int) or not p.startswith(("function-", "lax-"))
        )
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        problems.append(Problem(path_text(loc), message.replace("\n", " ")))
    return problems


def read_text(path: Path, what: str, error: type[Exception] = InputError) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path}: cannot read {what} file ({type(problem).__name__})") from None


def load_model(path: Path | str, model: type[Model], what: str) -> Model:
    """Read a YAML file of `what` (e.g. 'rules') into `model`, or one clear InputError."""
    path = Path(path)
    raw = parse_yaml(read_text(path, what), str(path))
    try:
        return model.model_validate(raw)
    except ValidationError as failure:
        first = validation_problems(failure)[0]
        raise InputError(f"{path}: {first.path}: {first.message}") from None
