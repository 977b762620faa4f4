"""Eligibility rules, as a council reads them: small tables in, eligible families out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from evalink.errors import InputError
from evalink.identify.rules import Condition, Headline, Rules, evaluate, load_rules
from tests.tables import table

AS_OF = date(2016, 4, 1)

PERSONS = table(
    """
    person_key | family_key | dob
    mum1       | f1         | 1985-02-01
    kid1       | f1         | 2006-06-01
    dad2       | f2         | 1980-01-01
    kid2       | f2         | 2008-03-03
    mum3       | f3         | 1990-01-01
    kid3       | f3         | 2012-01-01
    """,
    dates=("dob",),
)


def rules(*headlines: Headline, min_headlines: int = 2) -> Rules:
    return Rules(id="test", title="test", min_headlines=min_headlines, headlines=list(headlines))


def headline(id: str, **condition) -> Headline:
    return Headline(id=id, title=id, any_of=[Condition(**condition)])


def events(text: str) -> pl.DataFrame:
    """Events; without an `end` column each is a single event (end = start), with one a
    missing end is an episode still open."""
    frame = table(text, dates=("start", "end"), numbers=("value", "base"))
    if "end" not in frame.columns:
        frame = frame.with_columns(pl.col("start").alias("end"))
    for name in ("end", "value", "base", "source", "source_record_id"):
        if name not in frame.columns:
            dtype = {"end": pl.Date, "value": pl.Float64, "base": pl.Float64}.get(name, pl.Utf8)
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return frame.with_columns(
        pl.col("source").fill_null("test"),
        pl.col("source_record_id").fill_null(pl.col("indicator")),
    )


WORKLESS = headline(
    "worklessness",
    indicator="out_of_work_benefit",
    who="adult",
    look_back="1 day",
    count_at_least=1,
)
ABSENCE = headline(
    "education",
    indicator="school_sessions",
    who="child",
    look_back="12 months",
    share_at_least=0.10,
)
ABUSE = headline(
    "domestic_abuse", indicator="domestic_abuse_incident", look_back="12 months", count_at_least=1
)


def eligible(rules_: Rules, events_: pl.DataFrame) -> set[str]:
    families, _ = evaluate(rules_, events_, PERSONS, AS_OF)
    return set(families.filter("eligible")["family_key"])


def test_a_family_with_two_headline_problems_is_eligible():
    found = events(
        """
        person_key | indicator           | start      | end        | value | base
        mum1       | out_of_work_benefit | 2015-01-01 | -          | -     | -
        kid1       | school_sessions     | 2015-09-01 | 2015-12-18 | 20    | 140
        dad2       | out_of_work_benefit | 2015-01-01 | -          | -     | -
        """
    )
    assert eligible(rules(WORKLESS, ABSENCE), found) == {"f1"}


def test_an_episode_counts_while_it_overlaps_the_look_back_window():
    found = events(
        """
        person_key | indicator           | start      | end
        mum1       | out_of_work_benefit | 2014-01-01 | 2016-06-30
        dad2       | out_of_work_benefit | 2014-01-01 | 2016-03-01
        """
    )
    families, _ = evaluate(rules(WORKLESS, min_headlines=1), found, PERSONS, AS_OF)
    assert set(families.filter("eligible")["family_key"]) == {"f1"}


def test_absence_is_the_share_of_sessions_missed_over_the_window():
    found = events(
        """
        person_key | indicator       | start      | end        | value | base
        kid1       | school_sessions | 2015-04-20 | 2015-07-20 | 5     | 120
        kid1       | school_sessions | 2015-09-01 | 2015-12-18 | 9     | 140
        kid2       | school_sessions | 2015-09-01 | 2015-12-18 | 14    | 140
        """
    )
    # kid1: 14 of 260 sessions = 5.4%; kid2: 14 of 140 = 10%.
    assert eligible(rules(ABSENCE, min_headlines=1), found) == {"f2"}


def test_events_outside_the_look_back_window_do_not_count():
    found = events(
        """
        person_key | indicator               | start
        mum1       | domestic_abuse_incident | 2015-03-31
        dad2       | domestic_abuse_incident | 2015-04-01
        mum3       | domestic_abuse_incident | 2016-04-02
        """
    )
    assert eligible(rules(ABUSE, min_headlines=1), found) == {"f2"}


def test_an_adult_only_indicator_ignores_children():
    found = events(
        """
        person_key | indicator           | start
        kid3       | out_of_work_benefit | 2016-04-01
        """
    )
    assert eligible(rules(WORKLESS, min_headlines=1), found) == set()


def test_a_count_threshold_needs_that_many_events_for_one_person():
    exclusions = headline(
        "exclusions",
        indicator="fixed_term_exclusion",
        who="child",
        look_back="12 months",
        count_at_least=3,
    )
    found = events(
        """
        person_key | indicator            | start      | source_record_id
        kid1       | fixed_term_exclusion | 2015-10-01 | x1
        kid1       | fixed_term_exclusion | 2015-11-01 | x2
        kid1       | fixed_term_exclusion | 2016-01-10 | x3
        kid2       | fixed_term_exclusion | 2015-10-01 | x4
        kid2       | fixed_term_exclusion | 2015-11-01 | x5
        """
    )
    assert eligible(rules(exclusions, min_headlines=1), found) == {"f1"}


def test_each_family_gets_headlines_count_and_weighted_priority():
    heavy = Headline(id="domestic_abuse", title="abuse", weight=3, any_of=ABUSE.any_of)
    found = events(
        """
        person_key | indicator               | start
        mum1       | out_of_work_benefit     | 2016-04-01
        mum1       | domestic_abuse_incident | 2016-01-01
        dad2       | out_of_work_benefit     | 2016-04-01
        """
    )
    families, _ = evaluate(rules(WORKLESS, heavy), found, PERSONS, AS_OF)
    rows = {row["family_key"]: row for row in families.to_dicts()}
    assert rows["f1"]["headlines"] == ["worklessness", "domestic_abuse"]
    assert rows["f1"]["headline_count"] == 2 and rows["f1"]["priority"] == 4.0
    assert rows["f2"]["headline_count"] == 1 and rows["f2"]["priority"] == 1.0
    assert rows["f3"]["headlines"] == [] and not rows["f3"]["eligible"]


def test_the_evidence_names_source_record_date_and_rule():
    found = events(
        """
        person_key | indicator               | start      | source | source_record_id
        mum1       | domestic_abuse_incident | 2016-01-01 | police | DA-17
        """
    )
    _, evidence = evaluate(rules(ABUSE, min_headlines=1), found, PERSONS, AS_OF)
    assert evidence.to_dicts() == [
        {
            "family_key": "f1",
            "headline": "domestic_abuse",
            "rule": "domestic_abuse.any_of[0]: domestic_abuse_incident at least 1 in 12 months",
            "person_key": "mum1",
            "source": "police",
            "source_record_id": "DA-17",
            "start": date(2016, 1, 1),
        }
    ]


# --- rules files are validated like the policy -----------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


RULES_TEXT = """
id: t
title: t
min_headlines: 1
headlines:
  - id: abuse
    title: Domestic abuse
    any_of:
      - {indicator: domestic_abuse_incident, look_back: 12 months, count_at_least: 1}
"""


def test_a_valid_rules_file_loads(tmp_path):
    loaded = load_rules(write(tmp_path, RULES_TEXT), known_indicators={"domestic_abuse_incident"})
    assert loaded.indicators() == {"domestic_abuse_incident"}


def test_a_typo_in_an_indicator_name_is_an_error_naming_the_place(tmp_path):
    path = write(tmp_path, RULES_TEXT.replace("domestic_abuse_incident", "domestic_abuse_incidnet"))
    with pytest.raises(
        InputError,
        match=r"headlines\[0\]\.any_of\[0\]\.indicator: unknown indicator 'domestic_abuse_incidnet'; did you mean 'domestic_abuse_incident'\?",
    ):
        load_rules(path, known_indicators={"domestic_abuse_incident", "offence"})


def test_an_impossible_share_is_an_error(tmp_path):
    path = write(tmp_path, RULES_TEXT.replace("count_at_least: 1", "share_at_least: 1.5"))
    with pytest.raises(InputError, match=r"headlines\[0\]\.any_of\[0\]\.share_at_least"):
        load_rules(path)


def test_needing_more_headlines_than_exist_is_an_error(tmp_path):
    path = write(tmp_path, RULES_TEXT.replace("min_headlines: 1", "min_headlines: 2"))
    with pytest.raises(InputError, match="no family could be eligible"):
        load_rules(path)


def test_an_unknown_key_is_an_error(tmp_path):
    path = write(
        tmp_path, RULES_TEXT.replace("count_at_least: 1", "count_at_least: 1, lookback: 3")
    )
    with pytest.raises(InputError, match=r"headlines\[0\]\.any_of\[0\]\.lookback: unknown key"):
        load_rules(path)


def test_the_shipped_rules_files_load_against_the_synth_mapping():
    from evalink.identify.sources import load_mapping
    from tests.conftest import REPO

    known = load_mapping(REPO / "examples" / "mapping-synth.yaml").indicators()
    tf2015 = load_rules(REPO / "examples" / "rules-troubled-families-2015.yaml", known)
    sf2022 = load_rules(REPO / "examples" / "rules-supporting-families-2022.yaml", known)
    assert (len(tf2015.headlines), tf2015.min_headlines) == (6, 2)
    assert (len(sf2022.headlines), sf2022.min_headlines) == (10, 3)
