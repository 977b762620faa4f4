"""`evalink demo` publishes the notice and ROPA from the example policy."""

from __future__ import annotations


def test_the_demo_writes_the_notice_and_ropa(example_policy_path, tmp_path, evalink):
    result = evalink("demo", "--policy", example_policy_path, "--workdir", tmp_path)
    assert result.exit_code == 0, result.output
    for name in ("notice.md", "notice.html", "ropa.md", "ropa.csv"):
        assert (tmp_path / name).stat().st_size > 0
    assert "no-linked-data-back-to-council" in result.output
