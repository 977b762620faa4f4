"""Whatever the policy file holds, the loader answers with a policy or one clear error."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalink.policy import Policy, PolicyError, parse_policy
from tests.policy.helpers import example_document

SOURCE = "fuzzed.yaml"

yaml_like_text = st.text(
    alphabet=st.sampled_from(list("abc:-[]{}'\"#&*!|>%@` \n\t0129.,?")), max_size=200
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.dates().map(str),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _assert_clear(text: str) -> None:
    try:
        result = parse_policy(text, source=SOURCE)
    except PolicyError as error:
        message = str(error)
        assert message.startswith(f"{SOURCE}: ")
        assert "\n" not in message
    else:
        assert isinstance(result, Policy)


@settings(max_examples=300, deadline=None)
@given(yaml_like_text)
def test_malformed_yaml_gives_a_clear_error(text):
    _assert_clear(text)


def _containers(node: Any, path: tuple = ()) -> list[tuple]:
    """Every (path, container) in the document, to pick a place to mutate."""
    found = [(path, node)]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _containers(child, (*path, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += _containers(child, (*path, i))
    return [(p, n) for p, n in found if isinstance(n, dict | list)]


@st.composite
def mutated_documents(draw) -> dict:
    document = example_document()
    for _ in range(draw(st.integers(1, 3))):
        places = _containers(document)
        _, container = draw(st.sampled_from(places))
        keys = (
            list(container.keys()) if isinstance(container, dict) else list(range(len(container)))
        )
        action = draw(st.sampled_from(["delete", "replace", "add", "rename"]))
        if not keys or action == "add":
            if isinstance(container, dict):
                container[draw(st.text(min_size=1, max_size=8))] = draw(values)
            else:
                container.append(draw(values))
        elif action == "delete":
            del container[draw(st.sampled_from(keys))]
        elif action == "replace":
            container[draw(st.sampled_from(keys))] = draw(values)
        elif isinstance(container, dict):
            key = draw(st.sampled_from(keys))
            container[key + draw(st.text(min_size=1, max_size=3))] = container.pop(key)
    return document


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_a_mutated_valid_policy_gives_a_policy_or_a_clear_error(document):
    _assert_clear(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=mutated_documents())
def test_policy_check_on_a_mutated_policy_exits_0_or_2_without_a_traceback(
    document, tmp_path, evalink
):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = evalink("policy", "check", path)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.startswith(f"error: {path}: ")
        assert result.output.count("\n") == 1
