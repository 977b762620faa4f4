"""Reading a policy file: YAML → `PolicyDocument` → checked `Policy`.

Every problem becomes a `PolicyError` of one line: the file, the path in the document
(`flows[3].fields[1]`) and what is wrong. Nothing else escapes, whatever the input.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evalink.errors import PolicyError
from evalink.policy.enforce import Policy
from evalink.policy.spec import PolicyDocument
from evalink.policy.validate import Problem, check_document


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; in a policy that hides a rule, so refuse."""


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


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        # Pydantic reports which member of a union failed ('date', 'function-after', ...):
        # a user wants the place in their document, so keep only document keys.
        loc = tuple(
            p for p in item["loc"] if isinstance(p, int) or not p.startswith(("function-", "lax-"))
        )
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        problems.append(Problem(path_text(loc), message))
    return problems


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse policy text. `source` names the file in error messages."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PolicyError(
            f"{source}: {where}invalid YAML: {error.problem or error.context}"
        ) from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: invalid YAML ({type(error).__name__})") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: (document): expected a mapping of sections, got {_kind(raw)}")
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as error:
        _raise_problems(source, _pydantic_problems(error))
    _raise_problems(source, check_document(document))
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(document=document, source=source, fingerprint=fingerprint)


def load_policy(path: Path | str) -> Policy:
    """Load and check a policy file. Raises `PolicyError` naming the file and place."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{path}: cannot read policy file ({type(error).__name__})") from None
    return parse_policy(text, source=str(path))


def _raise_problems(source: str, problems: list[Problem]) -> None:
    if not problems:
        return
    first = problems[0]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    message = first.message.replace("\n", " ")
    error = PolicyError(f"{source}: {first.path}: {message}{more}")
    error.problems = problems  # type: ignore[attr-defined]
    raise error


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__
