"""Which research columns are identifiers, and which are counted for k-anonymity, is the
policy's to say: a policy that reclassifies or renames a field changes both."""

from __future__ import annotations

import polars as pl
import pytest

from evalink.assemble.research import quasi_identifiers, verify
from evalink.errors import EvalinkError
from tests.policy.helpers import index_of, policy_with
from tests.policy.identifier_variants import policy_renaming
from tests.tables import table

RESEARCH = table(
    """
    pseudonym | cohort   | index_period | year_of_birth | sex | local_authority
    a         | attached | 2015-Q2      | 2005          | F   | Sandwell
    """
)
NO_VAULT_VALUES = pl.DataFrame(schema={"field": pl.Utf8, "value": pl.Utf8})


def test_k_anonymity_is_counted_on_the_quasi_identifiers_the_policy_names(example_policy):
    assert quasi_identifiers(example_policy, RESEARCH) == [
        "index_period", "year_of_birth", "sex", "local_authority",
    ]  # fmt: skip


def test_a_field_the_policy_makes_a_quasi_identifier_is_counted_too():
    def cohort_identifies(document: dict) -> None:
        research = document["datasets"][index_of(document["datasets"], "research_dataset")]
        next(f for f in research["fields"] if f["name"] == "cohort")["class"] = "quasi_identifier"

    assert "cohort" in quasi_identifiers(policy_with(cohort_identifies), RESEARCH)


def test_a_quasi_identifier_the_table_does_not_hold_is_not_counted(example_policy):
    assert "sex" not in quasi_identifiers(example_policy, RESEARCH.drop("sex"))


def test_a_column_named_as_the_policy_names_an_identifier_is_refused():
    released = RESEARCH.with_columns(pl.lit("QQ123456C").alias("ni_number"))
    with pytest.raises(EvalinkError, match="column 'ni_number' is a direct identifier"):
        verify(released, policy_renaming("nino", "ni_number"), NO_VAULT_VALUES)
