"""The same model on both engines: DuckDB embedded, Spark in local mode; and where each
spills: inside the node when linkage runs in one, encrypted, and never left behind."""

from __future__ import annotations

import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evalink.errors import InputError
from evalink.link import engines, link
from tests.conftest import environment
from tests.link.world import make_world

# A value no record holds by chance: found in a spill file, it was written in clear.
MARKER = "ZEPHYRINE-SPILL-MARKER"


@pytest.fixture
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp dir, made an empty directory a test can watch."""
    directory = tmp_path / "system-tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _setting(connection, name: str):
    return connection.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def _spill(connection) -> list[Path]:
    """Make DuckDB spill: a table several times its memory limit, every row marked."""
    connection.execute("SET memory_limit = '30MB'")
    connection.execute(
        f"CREATE TABLE spilled AS SELECT '{MARKER}' || i::VARCHAR || repeat('x', 50) AS v "
        "FROM range(2000000) t(i)"
    )
    return [p for p in Path(_setting(connection, "temp_directory")).rglob("*") if p.is_file()]


def test_in_a_node_duckdb_spills_inside_it_encrypted_and_nothing_under_tmp(tmp_path, system_tmp):
    node_tmp = tmp_path / "node" / "tmp"
    with engines.database_api("duckdb", temp_directory=node_tmp) as api:
        connection = api.duckdb_con
        spill = Path(_setting(connection, "temp_directory"))
        assert spill.parent == node_tmp
        assert _setting(connection, "temp_file_encryption") is True
        assert stat.S_IMODE(spill.stat().st_mode) == 0o700
        files = _spill(connection)
        assert files, "the test must make DuckDB spill"
        assert not [f for f in files if MARKER.encode() in f.read_bytes()]
    assert not spill.exists()
    assert list(node_tmp.iterdir()) == []
    assert list(system_tmp.iterdir()) == []


def test_the_marker_is_found_in_a_clear_spill_so_the_check_above_can_fail(tmp_path):
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"SET temp_directory = '{tmp_path}'")
    try:
        assert [f for f in _spill(connection) if MARKER.encode() in f.read_bytes()]
    finally:
        connection.close()


def test_standalone_duckdb_spills_to_a_private_encrypted_directory_removed_after(system_tmp):
    with engines.database_api("duckdb") as api:
        spill = Path(_setting(api.duckdb_con, "temp_directory"))
        assert spill.parent == system_tmp
        assert stat.S_IMODE(spill.stat().st_mode) == 0o700
        assert _setting(api.duckdb_con, "temp_file_encryption") is True
    assert list(system_tmp.iterdir()) == []


def test_an_unknown_engine_makes_no_directory(tmp_path, system_tmp):
    with (
        pytest.raises(InputError, match="unknown engine 'oracle'"),
        engines.database_api("oracle", temp_directory=tmp_path / "node" / "tmp"),
    ):
        pass
    assert not (tmp_path / "node").exists()
    assert list(system_tmp.iterdir()) == []


def test_link_threads_the_temp_directory_to_the_engine(tmp_path, system_tmp, monkeypatch):
    seen: list[tuple[str, bool]] = []
    real = engines.database_api

    @contextmanager
    def watched(engine, **options):
        with real(engine, **options) as api:
            connection = api.duckdb_con
            seen.append(
                (
                    _setting(connection, "temp_directory"),
                    _setting(connection, "temp_file_encryption"),
                )
            )
            yield api

    monkeypatch.setattr(engines, "database_api", watched)
    world = make_world(households=40, seed=5)
    node_tmp = tmp_path / "node" / "tmp"
    result = link(world.cohort, world.population, temp_directory=node_tmp)
    assert result.links.height > 0
    ((spill, encrypted),) = seen
    assert Path(spill).parent == node_tmp and encrypted is True
    assert list(node_tmp.iterdir()) == []
    assert list(system_tmp.iterdir()) == []


@dataclass
class SparkRun:
    world: Any
    result: Any
    node_tmp: Path


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory: pytest.TempPathFactory) -> SparkRun:
    """One link on a local Spark inside a node's tmp/, shared by the Spark tests: a local
    Spark's cost is its session and its jobs' overhead, not the pairs."""
    pytest.importorskip("pyspark")
    node_tmp = tmp_path_factory.mktemp("spark-node") / "tmp"
    # Two partitions: the tests are about equality and place, not speed. Small: equality
    # is as well shown on 60 households as on 150.
    with environment({"EVALINK_SPARK_PARTITIONS": "2"}):
        world = make_world(households=60, seed=3)
        result = link(world.cohort, world.population, engine="spark", temp_directory=node_tmp)
    return SparkRun(world, result, node_tmp)


def test_spark_gives_the_same_links_as_duckdb(spark_run):
    world, spark = spark_run.world, spark_run.result
    duckdb = link(world.cohort, world.population, engine="duckdb")

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


def test_spark_in_a_node_checkpoints_inside_it_and_removes_them_after_the_run(spark_run):
    node_tmp = spark_run.node_tmp
    assert spark_run.result.links.height > 0
    # What remains of the run is the session's scratch (removed at exit), no run's directory.
    assert [p.name for p in node_tmp.iterdir()] == ["spark"]
    with engines.database_api("spark", temp_directory=node_tmp) as api:
        context = api.spark.sparkContext
        checkpoints = Path(context._jsc.sc().getCheckpointDir().get().removeprefix("file:"))
        assert checkpoints.is_relative_to(node_tmp)
        assert Path(context.getConf().get("spark.local.dir")).is_relative_to(node_tmp / "spark")
        assert context.getConf().get("spark.io.encryption.enabled") == "true"
    assert not checkpoints.parent.exists()
    assert [p.name for p in node_tmp.iterdir()] == ["spark"]
