"""Assemble: the linker joins attributes and departmental outcomes by reference number,
replaces it with a project pseudonym, generalises until the policy's motivated intruders
fail (`intruder`), scans for identifiers and seals the research dataset."""

from evalink.assemble.deidentify import Deidentified, deidentify
from evalink.assemble.generalise import Generalisation
from evalink.assemble.intruder import Risk, attack
from evalink.assemble.pseudonyms import new_project_key, pseudonym
from evalink.assemble.research import (
    Assembled,
    assemble,
    intruder_test,
    research_table,
    verify,
)
from evalink.assemble.scan import identifier_values, scan

__all__ = [
    "Assembled",
    "Deidentified",
    "Generalisation",
    "Risk",
    "assemble",
    "attack",
    "deidentify",
    "identifier_values",
    "intruder_test",
    "new_project_key",
    "pseudonym",
    "research_table",
    "scan",
    "verify",
]
