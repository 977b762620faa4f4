"""One linkage of the small household world, shared by the spec tests that read it."""

from __future__ import annotations

import pytest

from tests.link.world import World, make_world


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()


@pytest.fixture(scope="session")
def linked(world: World):
    from evalink.link import link

    return link(world.cohort, world.population)


@pytest.fixture(scope="session")
def links_by_left(linked) -> dict[str, str]:
    return dict(zip(linked.links["left_id"], linked.links["right_id"], strict=True))
