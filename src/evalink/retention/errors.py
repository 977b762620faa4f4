"""The refusal to read what retention destroyed."""

from __future__ import annotations

from datetime import date

from evalink.errors import EvalinkError


class DatasetDestroyed(EvalinkError):
    """A dataset this node no longer holds because it was destroyed, with the date, the
    rule and the certificate that proves it — so a reader learns why, not merely that
    the dataset is missing."""

    def __init__(
        self, dataset: str, destroyed_on: date, rule: str | None, certificate: str, reason: str
    ) -> None:
        self.dataset = dataset
        self.destroyed_on = destroyed_on
        self.rule = rule
        self.certificate = certificate
        under = f"under rule '{rule}'" if rule else f"on request ({reason})"
        super().__init__(
            f"dataset '{dataset}' was destroyed on {destroyed_on} {under}, "
            f"certificate {certificate}"
        )
