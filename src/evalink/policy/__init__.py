"""Policy as code: one YAML file is both the published notice and the enforced rules.

policy = load_policy("examples/troubled-families.yaml")
flow = policy.check_flow("council", "linker", "identifiers", ["reference_number", ...])
"""

from evalink.errors import PolicyError, PolicyViolation
from evalink.policy.enforce import Policy
from evalink.policy.load import load_policy, parse_policy
from evalink.policy.render import explain_flow, render_notice, render_ropa
from evalink.policy.spec import (
    Dataset,
    DisclosureRules,
    FieldClass,
    Flow,
    Intruder,
    Party,
    PolicyDocument,
    Promise,
    RetentionRule,
    Safeguard,
    SafeguardKind,
)

__all__ = [
    "Dataset",
    "DisclosureRules",
    "FieldClass",
    "Flow",
    "Intruder",
    "Party",
    "Policy",
    "PolicyDocument",
    "PolicyError",
    "PolicyViolation",
    "Promise",
    "RetentionRule",
    "Safeguard",
    "SafeguardKind",
    "explain_flow",
    "load_policy",
    "parse_policy",
    "render_notice",
    "render_ropa",
]
