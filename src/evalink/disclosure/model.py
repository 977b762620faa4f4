"""Model outputs (a regression, a survival fit): what ACRO checks of them."""

from __future__ import annotations

from collections.abc import Mapping

from evalink.disclosure.thresholds import Thresholds


def check_model(
    residual_dof: float, cell_units: Mapping[str, int] | None, thresholds: Thresholds
) -> list[str]:
    """Problems with a model output, one line each; [] if it may be published.

    "dof": residual degrees of freedom below `min_dof` (ACRO's MinimumDoFCheck): a model
    with nearly as many parameters as units can give back the units' own values.
    "threshold": a statistic the output shows for a group (a group mean, a cell of a
    contingency table the model reports) computed from fewer than `min_count` units.
    `cell_units` maps each such statistic's name to its number of units.
    """
    problems: list[str] = []
    if residual_dof < thresholds.min_dof:
        problems.append(
            f"residual degrees of freedom {residual_dof:g} are fewer than {thresholds.min_dof} "
            "(rule 'dof')"
        )
    for name, units in sorted((cell_units or {}).items()):
        if units < thresholds.min_count:
            problems.append(
                f"'{name}' is computed from {units} units, fewer than {thresholds.min_count} "
                "(rule 'threshold')"
            )
    return problems
