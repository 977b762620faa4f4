"""Assemble: the linker joins attributes and departmental outcomes by reference number,
replaces it with a project pseudonym, coarsens and checks quasi-identifiers, scans for
identifiers and seals the research dataset."""

from evalink.assemble.anonymity import AnonymityReport, k_anonymise
from evalink.assemble.pseudonyms import new_project_key, pseudonym
from evalink.assemble.research import Assembled, assemble, research_table, verify
from evalink.assemble.scan import identifier_values, scan

__all__ = [
    "AnonymityReport",
    "Assembled",
    "assemble",
    "identifier_values",
    "k_anonymise",
    "new_project_key",
    "pseudonym",
    "research_table",
    "scan",
    "verify",
]
