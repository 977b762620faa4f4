"""Where the model runs: embedded DuckDB (default) or Spark (national scale).

Both engines receive the same standardised Arrow tables and the same Splink settings;
only the database API differs. Neither may reach the network at run time.

Linkage spills record values to disk — DuckDB's temporary files beyond its memory limit,
Spark's checkpoints, shuffle and cached blocks — so where it spills matters as much as
where it stores. Each run gets a directory of its own (mode 0700), removed when the run
ends: inside `temp_directory` when given (a node's own `tmp/`), else under the system
temp dir. DuckDB encrypts its spill there (`evalink.node.store.connect`); Spark
encrypts its shuffle and spill files (`spark.io.encryption.enabled`), while its
checkpoints are clear Parquet inside that directory until the run ends.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from evalink.errors import EvalinkError, InputError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


@contextmanager
def database_api(
    engine: str, *, threads: int | None = None, temp_directory: Path | None = None
) -> Iterator[Any]:
    """A Splink database API for `engine`, cleaned up on exit.

    Spill goes to a directory made for this run inside `temp_directory` (a node's
    `tmp/`: linkage inside a node never writes under /tmp), or under the system temp
    dir when it is None; the directory and everything in it are removed on exit.
    """
    if engine not in ENGINES:
        raise InputError(f"--engine: unknown engine '{engine}'; use one of {', '.join(ENGINES)}")
    with _run_directory(temp_directory) as spill:
        if engine == "duckdb":
            api = _duckdb_api(threads, spill, required=temp_directory is not None)
            try:
                yield api
            finally:
                # Closed before its directory goes: DuckDB holds its temporary files open.
                api.duckdb_con.close()
        else:
            with _spark_api(spill, temp_directory) as api:
                yield api


@contextmanager
def _run_directory(parent: Path | None) -> Iterator[Path]:
    """A new directory, readable by this user only (mkdtemp's 0700), removed afterwards."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    run = Path(tempfile.mkdtemp(prefix="evalink-link-", dir=parent))
    try:
        yield run
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _duckdb_api(threads: int | None, spill: Path, *, required: bool) -> Any:
    import duckdb
    from splink import DuckDBAPI

    from evalink.node.store import connect

    try:
        # The node's own connection: no extension fetched or auto-loaded, the spill
        # directory set, and its temporary files encrypted.
        connection = connect(spill)
    except EvalinkError:
        if required:
            raise  # inside a node, spill is encrypted or linkage does not run
        # Standalone `evalink link` without the encryption extension: still a private
        # directory of this run's own, removed afterwards, never a shared clear one.
        connection = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        connection.execute(f"SET temp_directory = '{_quote(str(spill))}'")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    # Keep DuckDB's share of memory bounded so the whole run stays within a few GB on a
    # small machine; joins and aggregates spill to disk beyond it.
    connection.execute(f"SET memory_limit = '{os.environ.get('EVALINK_DUCKDB_MEMORY', '1200MB')}'")
    connection.execute("SET preserve_insertion_order = false")
    return DuckDBAPI(connection)


def _quote(text: str) -> str:
    return text.replace("'", "''")


_spark_session: Any = None
_spark_scratch: Path | None = None


def spark_session(scratch: Path | None = None) -> Any:
    """A local Spark session with Splink's similarity functions (one per process).

    Its scratch space — shuffle and spill files, the SQL warehouse — is under `scratch`
    (a node's `tmp/spark`), or a private directory under the system temp dir. Spark
    fixes these when a session starts, so a run asking for another place gets a new
    session.
    """
    global _spark_session, _spark_scratch
    if _spark_session is not None and scratch == _spark_scratch:
        return _spark_session
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as error:  # pragma: no cover - depends on the install
        raise InputError(
            "--engine spark: pyspark is not installed (pip install 'evalink[spark]')"
        ) from error
    if _spark_session is not None:
        _spark_session.stop()
        _spark_session = None
    if scratch is None:
        root = Path(tempfile.mkdtemp(prefix="evalink-spark-"))
    else:
        scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        root = Path(tempfile.mkdtemp(prefix="session-", dir=scratch))
    # Shuffle files, cached blocks and the warehouse hold record values: remove them when
    # the process ends (each run's checkpoints go sooner, with the run's directory).
    atexit.register(shutil.rmtree, root, ignore_errors=True)
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
        .config("spark.sql.warehouse.dir", str(root / "warehouse"))
        .config("spark.local.dir", str(root / "local"))
        # Shuffle and spill files (and cached blocks written to disk) encrypted.
        .config("spark.io.encryption.enabled", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.ansi.enabled", "false")
        # Splink's CASE expressions for many comparison levels exceed the JVM's 64 KB
        # method limit under whole-stage code generation; Spark would fall back after
        # logging a compiler error for every query.
        .config("spark.sql.codegen.wholeStage", os.environ.get("EVALINK_SPARK_CODEGEN", "false"))
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _spark_session, _spark_scratch = session, scratch
    return session


@contextmanager
def _spark_api(run: Path, temp_directory: Path | None) -> Iterator[Any]:
    from splink import SparkAPI

    session = spark_session(temp_directory / "spark" if temp_directory is not None else None)
    # Checkpoints (Splink's "parquet" and "checkpoint" ways to break lineage) go in this
    # run's directory, removed when it ends.
    session.sparkContext.setCheckpointDir(str(run / "checkpoints"))
    partitions = int(os.environ.get("EVALINK_SPARK_PARTITIONS", "8"))
    try:
        # Persisting intermediate tables in memory is faster than writing checkpoints for
        # the sizes a single machine handles; a cluster deployment may prefer "parquet".
        yield SparkAPI(
            spark_session=session,
            num_partitions_on_repartition=partitions,
            break_lineage_method=os.environ.get("EVALINK_SPARK_BREAK_LINEAGE", "persist"),
        )
    finally:
        # Persisted tables hold record values in the session's block manager (and on its
        # disk once memory is short): dropped with the run, not at process exit.
        session.catalog.clearCache()


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
