"""A training block whose EM fails on a small input leaves the model whole."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from evalink.link.train import _em


class _Training:
    """Stands in for Splink's training component: EM that sets a comparison aside,
    then fails the way Splink does when an m probability reaches 0."""

    def __init__(self, error: str) -> None:
        self._linker = SimpleNamespace(
            _settings_obj=SimpleNamespace(comparisons=["forename", "dob"])
        )
        self.error = error

    def estimate_parameters_using_expectation_maximisation(self, *args, **kwargs) -> None:
        self._linker._settings_obj.comparisons.remove("forename")
        raise ValueError(self.error)


def test_an_m_probability_reaching_zero_restores_the_model_as_before_the_block():
    training = _Training("m_probability value 0.0 is below the minimum allowed value of 1e-300")
    _em(training, "l.dob = r.dob", None)
    assert training._linker._settings_obj.comparisons == ["forename", "dob"]


def test_any_other_failure_is_not_hidden():
    training = _Training("something else")
    with pytest.raises(ValueError, match="something else"):
        _em(training, "l.dob = r.dob", None)
