"""`evalink link`: the command contract and what it refuses."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.link.world import COLUMNS, make_world


@pytest.fixture(scope="module")
def small_world():
    return make_world(households=300, seed=11)


def write(path, frame: pl.DataFrame):
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    return path


def test_a_missing_column_is_named_and_exits_2(evalink, tmp_path, small_world):
    left = write(tmp_path / "cohort.csv", small_world.cohort.drop("nino"))
    right = write(tmp_path / "population.parquet", small_world.population)
    result = evalink("link", "--left", left, "--right", right, "--out", tmp_path / "links.parquet")
    assert result.exit_code == 2
    assert "cohort.csv: missing column nino" in result.output


def test_a_duplicate_record_id_is_refused(evalink, tmp_path, small_world):
    cohort = pl.concat([small_world.cohort, small_world.cohort.head(2)])
    left = write(tmp_path / "cohort.parquet", cohort)
    right = write(tmp_path / "population.parquet", small_world.population)
    result = evalink("link", "--left", left, "--right", right, "--out", tmp_path / "links.parquet")
    assert result.exit_code == 2
    assert "field 'record_id' is not unique (2 value(s) repeated)" in result.output


def test_an_empty_file_is_refused(evalink, tmp_path, small_world):
    left = tmp_path / "cohort.csv"
    left.write_text(",".join(COLUMNS) + "\n")
    right = write(tmp_path / "population.parquet", small_world.population)
    result = evalink("link", "--left", left, "--right", right, "--out", tmp_path / "links.parquet")
    assert result.exit_code == 2
    assert "empty file" in result.output
    assert not (tmp_path / "links.parquet").exists()


def test_errors_never_quote_the_records(evalink, tmp_path, small_world):
    cohort = pl.concat([small_world.cohort, small_world.cohort.head(1)])
    left = write(tmp_path / "cohort.csv", cohort)
    right = write(tmp_path / "population.parquet", small_world.population)
    result = evalink("link", "--left", left, "--right", right, "--out", tmp_path / "links.parquet")
    first = small_world.cohort.row(0, named=True)
    assert first["surname"] not in result.output and first["record_id"] not in result.output


def test_links_a_csv_to_parquet_with_a_report_and_counts_unparseable_dates(
    evalink, tmp_path, small_world
):
    cohort = small_world.cohort.with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(pl.lit("31/12/1999"))
        .otherwise(pl.col("dob"))
        .alias("dob")
    )
    left = write(tmp_path / "cohort.csv", cohort)
    right = write(tmp_path / "population.parquet", small_world.population)
    out, report = tmp_path / "links.parquet", tmp_path / "report"
    result = evalink("link", "--left", left, "--right", right, "--out", out, "--report", report)
    assert result.exit_code == 0, result.output
    assert "3 date(s) of birth not in YYYY-MM-DD form, treated as missing" in result.output

    links = pq.read_table(out)
    assert links.schema.names == ["left_id", "right_id", "match_probability"]
    assert links.num_rows > 0.9 * small_world.cohort.height
    frame = pl.from_arrow(links)
    assert frame["left_id"].is_unique().all() and frame["right_id"].is_unique().all()

    html = (report / "index.html").read_text()
    for heading in (
        "Match weight distribution",
        "Parameter estimates",
        "Estimated precision and recall",
    ):
        assert heading in html
    # The HTML is shareable: no names in it. The review CSV is for authorised reviewers.
    assert small_world.population["surname"][0] not in html
    review = pl.read_csv(report / "clerical_review.csv")
    assert {
        "left_id",
        "right_id",
        "match_probability",
        "surname_std_left",
        "surname_std_right",
    } <= set(review.columns)
