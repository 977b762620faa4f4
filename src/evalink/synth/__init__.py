"""The synthetic world: a council, three departments and the truth.

    from evalink.synth import generate, link_task
    summary = generate("world", families=1000, population=100_000, seed=1)
    link_task("world", "task", department="dwp")   # left/right/truth for `evalink link`

See docs/synthetic-data.md for what is generated and every rate used.
"""

from __future__ import annotations

from evalink.synth.effects import DEFAULT_EFFECTS, SPECS
from evalink.synth.linktask import link_task
from evalink.synth.problems import HEADLINES
from evalink.synth.world import Summary, generate

__all__ = ["DEFAULT_EFFECTS", "HEADLINES", "SPECS", "Summary", "generate", "link_task"]
