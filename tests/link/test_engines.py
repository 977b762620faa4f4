"""The same model on both engines: DuckDB embedded, Spark in local mode."""

from __future__ import annotations

import pytest

from tests.link.world import make_world

pytest.importorskip("pyspark")


def test_spark_gives_the_same_links_as_duckdb(monkeypatch):
    from evalink.link import link

    # A local Spark with two partitions: the test is about equality, not speed.
    monkeypatch.setenv("EVALINK_SPARK_PARTITIONS", "2")
    world = make_world(households=150, seed=3)
    duckdb = link(world.cohort, world.population, engine="duckdb")
    spark = link(world.cohort, world.population, engine="spark")

    on_duckdb = set(zip(duckdb.links["left_id"], duckdb.links["right_id"], strict=True))
    on_spark = set(zip(spark.links["left_id"], spark.links["right_id"], strict=True))
    differing = on_duckdb ^ on_spark
    # Allowing ties: a pair may differ only if both engines scored a rival pair for the
    # same record exactly as high.
    weights = {
        (r["left_id"], r["right_id"]): r["match_weight"]
        for r in duckdb.assigned.iter_rows(named=True)
    }
    for left_id, right_id in differing:
        rivals = [w for (lid, _), w in weights.items() if lid == left_id]
        assert rivals.count(weights.get((left_id, right_id))) > 1, "links differ between engines"
    assert len(on_duckdb) > 0.9 * len(world.truth)
