"""Errors a user can act on.

Every error evalink raises on purpose is an `EvalinkError`: the CLI prints its message
as one line and exits with code 2. Messages name files, fields, rows and rules — never
the personal data in them.
"""

from __future__ import annotations


class EvalinkError(Exception):
    """A problem the user can fix (bad file, bad value, refused action). Exit code 2."""

    exit_code = 2


class InputError(EvalinkError):
    """An input file or argument cannot be used as given."""


class PolicyError(EvalinkError):
    """A policy file is malformed or inconsistent."""


class PolicyViolation(EvalinkError):
    """An action the policy does not allow. Names the rule and the promise it protects."""

    def __init__(self, message: str, *, rule: str, promises: list[str] | tuple = ()) -> None:
        self.rule = rule
        self.promises = list(promises)
        self.promise = self.promises[0] if self.promises else None
        detail = f" (rule '{rule}'"
        if self.promises:
            word = "promise" if len(self.promises) == 1 else "promises"
            detail += f", protecting {word} " + ", ".join(f"'{p}'" for p in self.promises)
        super().__init__(message + detail + ")")
