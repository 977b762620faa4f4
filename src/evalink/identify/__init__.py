"""Identify: the council finds its families.

Local sources are read through a mapping file, records resolved into persons, persons
into households and families, eligibility rules (data, not code) evaluated, and the
cohort recorded: families worked with, and eligible families not yet worked with.

    result = identify(sources_dir, "mapping.yaml", "rules.yaml", as_of=date(2015, 3, 31))
    result.families   # family_key, eligible, headline_count, headlines, priority, cohort, ...
"""

from evalink.identify.pipeline import (
    IdentifyResult,
    explain,
    identify,
    store_in_node,
    write_outputs,
)
from evalink.identify.rules import Rules, evaluate, load_rules
from evalink.identify.sources import Mapping, load_mapping

__all__ = [
    "IdentifyResult",
    "Mapping",
    "Rules",
    "evaluate",
    "explain",
    "identify",
    "load_mapping",
    "load_rules",
    "store_in_node",
    "write_outputs",
]
