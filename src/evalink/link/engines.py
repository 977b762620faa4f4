"""Where the model runs: embedded DuckDB (default) or Spark (national scale).

Both engines receive the same standardised Arrow tables and the same Splink settings;
only the database API differs. Neither may reach the network at run time.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pyarrow as pa

from evalink.errors import InputError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


@contextmanager
def database_api(engine: str, *, threads: int | None = None) -> Iterator[Any]:
    """A Splink database API for `engine`, cleaned up on exit."""
    if engine == "duckdb":
        yield _duckdb_api(threads)
    elif engine == "spark":
        with _spark_api() as api:
            yield api
    else:
        raise InputError(f"--engine: unknown engine '{engine}'; use one of {', '.join(ENGINES)}")


def _duckdb_api(threads: int | None) -> Any:
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(":memory:")
    # No network at run time: DuckDB must never fetch an extension on its own.
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET autoload_known_extensions = false")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    # Keep DuckDB's share of memory bounded so the whole run stays within a few GB on a
    # small machine; joins and aggregates spill to disk beyond it.
    connection.execute(f"SET memory_limit = '{os.environ.get('EVALINK_DUCKDB_MEMORY', '1200MB')}'")
    connection.execute("SET preserve_insertion_order = false")
    # Spill to a private temporary directory rather than failing on large inputs.
    spill = f"{tempfile.gettempdir()}/evalink-duckdb-{os.getpid()}"
    connection.execute(f"SET temp_directory = '{spill}'")
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    return DuckDBAPI(connection)


_spark_session: Any = None


def spark_session() -> Any:
    """A local Spark session with Splink's similarity functions (one per process)."""
    global _spark_session
    if _spark_session is not None:
        return _spark_session
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as error:  # pragma: no cover - depends on the install
        raise InputError(
            "--engine spark: pyspark is not installed (pip install 'evalink[spark]')"
        ) from error
    checkpoint_dir = tempfile.mkdtemp(prefix="evalink-spark-")
    # Checkpoints and the warehouse hold record values: remove them when the process ends.
    atexit.register(shutil.rmtree, checkpoint_dir, ignore_errors=True)
    builder = (
        SparkSession.builder.master(os.environ.get("EVALINK_SPARK_MASTER", "local[2]"))
        .appName("evalink-link")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", os.environ.get("EVALINK_SPARK_PARTITIONS", "8"))
        .config("spark.default.parallelism", os.environ.get("EVALINK_SPARK_PARTITIONS", "8"))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", os.environ.get("EVALINK_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.ui.enabled", "false")
        # Not the current directory: a run must leave nothing behind in a work tree.
        .config("spark.sql.warehouse.dir", os.path.join(checkpoint_dir, "warehouse"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.ansi.enabled", "false")
        # Splink's CASE expressions for many comparison levels exceed the JVM's 64 KB
        # method limit under whole-stage code generation; Spark would fall back after
        # logging a compiler error for every query.
        .config("spark.sql.codegen.wholeStage", os.environ.get("EVALINK_SPARK_CODEGEN", "false"))
    )
    session = builder.getOrCreate()
    session.sparkContext.setCheckpointDir(checkpoint_dir)
    session.sparkContext.setLogLevel("ERROR")
    _spark_session = session
    return session


@contextmanager
def _spark_api() -> Iterator[Any]:
    from splink import SparkAPI

    session = spark_session()
    partitions = int(os.environ.get("EVALINK_SPARK_PARTITIONS", "8"))
    # Persisting intermediate tables in memory is faster than writing checkpoints for the
    # sizes a single machine handles; a cluster deployment may prefer "parquet".
    yield SparkAPI(
        spark_session=session,
        num_partitions_on_repartition=partitions,
        break_lineage_method=os.environ.get("EVALINK_SPARK_BREAK_LINEAGE", "persist"),
    )


def register(api: Any, table: pa.Table, name: str) -> Any:
    """Register an Arrow table with the engine under a fixed display name."""
    if api.sql_dialect.sql_dialect_str == "spark":
        frame = api.spark.createDataFrame(table.to_pandas())
        return api.register(frame, dataset_display_name=name)
    # Copied into a DuckDB table rather than scanned from Arrow: every training and
    # scoring query reads the inputs again, the copy sits inside DuckDB's memory limit
    # (and can spill), and the caller's Arrow table can be freed at once.
    connection = api.duckdb_con
    connection.register("evalink_arrow_input", table)
    connection.execute(f"CREATE TABLE evalink_{name} AS SELECT * FROM evalink_arrow_input")
    connection.unregister("evalink_arrow_input")
    return api.register(f"evalink_{name}", dataset_display_name=name)
