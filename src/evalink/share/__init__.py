"""Sharing: the council's cohort to the linker (two halves, apart), and the linker's
identifiers to each department (only what its flow allows)."""

from evalink.share.council import Shared, cohort_tables, random_references, share
from evalink.share.linker import Dispatched, dispatch

__all__ = ["Dispatched", "Shared", "cohort_tables", "dispatch", "random_references", "share"]
