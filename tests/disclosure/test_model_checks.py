"""Model outputs: residual degrees of freedom, and statistics of small groups."""

from __future__ import annotations

from evalink.disclosure import Thresholds, check_model

POLICY = Thresholds()  # min_dof 10, threshold 10


def test_a_model_with_enough_residual_degrees_of_freedom_and_large_groups_passes():
    assert check_model(120, {"mean cost, north": 40}, POLICY) == []


def test_too_few_residual_degrees_of_freedom_fail_dof():
    assert check_model(7, None, POLICY) == [
        "residual degrees of freedom 7 are fewer than 10 (rule 'dof')"
    ]


def test_a_group_statistic_from_fewer_units_than_the_threshold_fails_threshold():
    assert check_model(50, {"mean cost, south": 4, "mean cost, north": 40}, POLICY) == [
        "'mean cost, south' is computed from 4 units, fewer than 10 (rule 'threshold')"
    ]
