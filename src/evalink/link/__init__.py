"""The linkage stage: link a cohort to a department's population, or resolve persons.

    links = link("cohort.parquet", "dwp_population.parquet").links

`link()` returns a `LinkResult` whose `links` table has `left_id, right_id,
match_probability`, one row at most per record on either side. `dedupe()` groups the
records of one table (several local services) into persons.
"""

from __future__ import annotations

from evalink.link.dedupe import DedupeResult, dedupe
from evalink.link.pipeline import LinkResult, run, write_links
from evalink.link.standardise import CONTRACT_COLUMNS, standardise

link = run

__all__ = [
    "CONTRACT_COLUMNS",
    "DedupeResult",
    "LinkResult",
    "dedupe",
    "link",
    "standardise",
    "write_links",
]
