"""Reading a policy file: YAML → `PolicyDocument` → checked `Policy`.

Every problem becomes a `PolicyError` of one line: the file, the path in the document
(`flows[3].fields[1]`) and what is wrong. Nothing else escapes, whatever the input.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from evalink.errors import PolicyError
from evalink.policy.enforce import Policy
from evalink.policy.spec import PolicyDocument
from evalink.policy.validate import check_document
from evalink.yamlfile import Problem, parse_yaml, read_text, validation_problems


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse policy text. `source` names the file in error messages."""
    raw = parse_yaml(text, source, PolicyError)
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as error:
        _raise_problems(source, validation_problems(error))
    _raise_problems(source, check_document(document))
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(document=document, source=source, fingerprint=fingerprint)


def load_policy(path: Path | str) -> Policy:
    """Load and check a policy file. Raises `PolicyError` naming the file and place."""
    path = Path(path)
    return parse_policy(read_text(path, "policy", PolicyError), source=str(path))


def _raise_problems(source: str, problems: list[Problem]) -> None:
    if not problems:
        return
    first = problems[0]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    error = PolicyError(f"{source}: {first.path}: {first.message}{more}")
    error.problems = problems  # type: ignore[attr-defined]
    raise error
