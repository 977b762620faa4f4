"""Match: a department links the identifiers it received to its own records and returns
outcome records keyed by reference number only, with the linkage quality."""

from evalink.match.department import Matched, match
from evalink.match.outcomes import load_outcomes, outcome_records

__all__ = ["Matched", "load_outcomes", "match", "outcome_records"]
