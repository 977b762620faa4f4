"""The analysis plan: what it must say, and the one-line errors for what it gets wrong."""

from __future__ import annotations

import pytest

from evalink.errors import InputError
from evalink.evaluate.plan import Measure, check_columns, load_plan
from evalink.examples import example

DATASET_COLUMNS = {
    "pseudonym", "family_pseudonym", "cohort", "index_period", "year_of_birth", "sex",
    "local_authority", "family_size", "headlines", "keyworker_cost", "source", "outcome",
    "outcome_detail", "outcome_start_month", "outcome_end_month", "outcome_value",
    "outcome_base", "match_probability",
}


def test_the_example_plan_measures_the_national_impact_studys_outcomes_in_its_windows():
    plan = load_plan(example("evaluation-plan.yaml")).plan
    assert set(plan.outcomes) >= {
        "child_looked_after", "adult_custody", "juvenile_custody", "juvenile_conviction",
        "jsa_claim", "child_protection_plan", "school_attendance",
    }
    assert [(w.from_month, w.to_month) for w in plan.windows] >= [(7, 12), (13, 18), (19, 24), (1, 24)]
    assert plan.outcomes["school_attendance"].measure is Measure.MEAN_SHARE
    assert plan.outcomes["school_attendance"].measure.ratio_name == "ratio_of_means"
    assert plan.outcomes["child_looked_after"].measure.ratio_name == "rate_ratio"
    check_columns(load_plan(example("evaluation-plan.yaml")), DATASET_COLUMNS, {"dfe", "dwp", "moj"})


def test_the_hash_is_of_the_bytes_so_a_changed_comment_is_a_changed_plan(write_plan):
    first = load_plan(write_plan())
    again = load_plan(write_plan(name="same.yaml"))
    commented = load_plan(write_plan(name="commented.yaml", **{"title:": "# a note\ntitle:"}))
    assert first.sha256 == again.sha256
    assert commented.sha256 != first.sha256
    assert commented.plan == first.plan


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"  - [7, 12]": "  - [12, 7]"}, "windows[0]"),
        ({"  - [7, 12]": "  - [7]"}, "windows"),
        ({"method: propensity_weighting": "method: nearest_guess"}, "estimators.primary.method"),
        ({"measure: any_event": "measure: average"}, "outcomes.child_looked_after.measure"),
        ({"unit_costs: [looked_after_episode]": "unit_costs: [prison_place]"}, "unit_costs"),
        ({"history:\n  - [-12, -1]": "history:\n  - [-12, 3]"}, "history"),
        ({"title:": "titel:"}, "title"),
    ],
)
def test_a_bad_plan_is_one_line_naming_the_file_and_the_key(write_plan, change, key):
    path = write_plan(**change)
    with pytest.raises(InputError) as refused:
        load_plan(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    assert key in message
    assert "\n" not in message


def test_an_outcome_naming_a_column_the_dataset_lacks_is_refused_naming_it(write_plan):
    registered = load_plan(write_plan(**{"where: {outcome: [LAC]}": "where: {episode: [LAC]}"}))
    with pytest.raises(InputError, match=r"outcomes\.child_looked_after\.events\.where\.episode: "
                                         r"the dataset has no column 'episode'"):
        check_columns(registered, DATASET_COLUMNS, {"dfe"})


def test_an_outcome_from_a_source_the_dataset_does_not_have_is_refused(write_plan):
    registered = load_plan(write_plan(**{"source: dfe": "source: dfee"}))
    with pytest.raises(InputError, match=r"outcomes\.child_looked_after\.events\.source: 'dfee'"):
        check_columns(registered, DATASET_COLUMNS, {"dfe", "dwp", "moj"})
