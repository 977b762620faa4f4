"""Options several commands share: dates, choices, lists of parties."""

from __future__ import annotations

from datetime import date

import pytest

from evalink.cli.app import app
from evalink.cli.options import DateOption, Engine, NoticeFormat, RopaFormat, party_list


@pytest.fixture
def dated_command():
    """A throwaway command with a date option, as issue 13's `--today` will be."""
    seen: dict[str, object] = {}

    @app.command("show-day", hidden=True)
    def show_day(
        today: date | None = DateOption(None, "--today", help="The day to stand on."),
    ) -> None:
        seen["today"] = today

    yield seen
    app.registered_commands[:] = [c for c in app.registered_commands if c.name != "show-day"]


def test_a_date_option_gives_a_date(evalink, dated_command):
    assert evalink("show-day", "--today", "2022-12-31").exit_code == 0
    assert dated_command["today"] == date(2022, 12, 31)


def test_a_date_option_may_be_left_out(evalink, dated_command):
    assert evalink("show-day").exit_code == 0
    assert dated_command["today"] is None


@pytest.mark.parametrize(
    "value", ["2015-13-01", "2015-02-30", "31/03/2015", "20150331", "2015-W14-2", "yesterday"]
)
def test_a_date_not_written_yyyy_mm_dd_is_one_line_naming_the_option(evalink, dated_command, value):
    result = evalink("show-day", "--today", value)
    assert result.exit_code == 2
    assert result.output == (
        f"error: invalid value for '--today': '{value}' is not a date (YYYY-MM-DD) "
        "(see `evalink show-day --help`)\n"
    )
    assert "today" not in dated_command


def test_identify_refuses_a_date_that_does_not_exist(evalink, tmp_path):
    result = evalink(
        "identify",
        "--node",
        tmp_path,
        "--sources",
        tmp_path,
        "--mapping",
        tmp_path / "m.yaml",
        "--rules",
        tmp_path / "r.yaml",
        "--as-of",
        "2015-13-01",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "'--as-of': '2015-13-01' is not a date (YYYY-MM-DD)" in result.output
    assert "(see `evalink identify --help`)" in result.output


@pytest.mark.parametrize(
    "command, listed",
    [
        (["link"], "duckdb|spark"),
        (["match"], "duckdb|spark"),
        (["notice"], "md|html"),
        (["ropa"], "md|csv"),
    ],
)
def test_the_choices_of_an_option_are_listed_in_help(evalink, command, listed):
    result = evalink(*command, "--help")
    assert result.exit_code == 0 and listed in result.output


def test_the_choices_are_those_the_stages_accept():
    from evalink.link.engines import ENGINES
    from evalink.policy.render import NOTICE_FORMATS, ROPA_FORMATS

    assert tuple(Engine) == ENGINES
    assert tuple(NoticeFormat) == NOTICE_FORMATS
    assert tuple(RopaFormat) == ROPA_FORMATS


def test_link_hands_the_stage_the_engine_as_plain_text(evalink, tmp_path, monkeypatch):
    """`evalink link ... [--engine duckdb|spark]` is a contract: default duckdb."""
    from evalink.errors import InputError

    engines = []

    def link(left, right, *, engine, **_):
        engines.append(engine)
        raise InputError("stopped by the test")

    monkeypatch.setattr("evalink.link.link", link)
    args = [
        "link",
        "--left",
        tmp_path / "l.parquet",
        "--right",
        tmp_path / "r.parquet",
        "--out",
        tmp_path / "links.parquet",
    ]
    evalink(*args)
    evalink(*args, "--engine", "spark")
    assert engines == ["duckdb", "spark"]
    assert all(type(e) is str for e in engines)


def test_a_party_list_may_be_repeated_or_comma_separated():
    assert party_list(["moj,dfe", " dwp ", "moj", ","]) == ["moj", "dfe", "dwp"]
    assert party_list(None) == []
