"""The policy's disclosure rules as the numbers the checks use, in ACRO's units.

ACRO's own configuration (default.yaml) states k and p as fractions (0.90, 0.10); the
policy and these thresholds state them in percent (90, 10), as the notice prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from evalink.errors import InputError

if TYPE_CHECKING:
    from evalink.policy import Policy
    from evalink.policy.spec import DisclosureRules


@dataclass(frozen=True)
class Thresholds:
    """One place for the policy's rules. Defaults are ACRO's (default.yaml)."""

    min_count: int = 10  # fewer units than this in a cell: "threshold"
    zeros_disclosive: bool = True  # a zero count: "zero"
    nk_n: int = 2  # dominance: the n largest contributors ...
    nk_k: float = 90.0  # ... make up at least k% of the cell: "dominance"
    p_ratio: float = 10.0  # the rest below p% of the largest: "p-ratio"
    min_dof: int = 10  # model outputs: residual degrees of freedom at least this
    rounding_base: int = 5  # published counts are multiples of this

    @classmethod
    def from_rules(cls, rules: DisclosureRules) -> Thresholds:
        return cls(
            min_count=rules.min_cell_count,
            zeros_disclosive=rules.zeros_disclosive,
            nk_n=rules.dominance.n,
            nk_k=float(rules.dominance.k),
            p_ratio=float(rules.p_ratio),
            min_dof=rules.min_dof,
            rounding_base=rules.rounding_base,
        )

    @classmethod
    def for_party(cls, policy: Policy, party: str = "public") -> Thresholds:
        """The thresholds of the disclosure rules that apply to what `party` receives."""
        rules = policy.disclosure_rules(party)
        if rules is None:
            raise InputError(
                f"{policy.source}: no disclosure rules apply to party '{party}' "
                "(add it to `applies_to` of a `disclosure:` entry)"
            )
        return cls.from_rules(rules)
