"""The promise that no one can be identified from published reports, checked on what
the public node holds: kept after research published through the airlock, and broken —
on purpose — by a table put at the public node any other way."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pyarrow as pa

from evalink.demo import DEMO_AUTHOR, DEMO_REVIEWERS
from evalink.promises import BROKEN, KEPT, NOT_CHECKED
from evalink.release import published

PROMISE = "no-one-identifiable-in-published-reports"


def test_before_anything_is_published_the_promise_is_not_checked(held):
    check = held.check()[PROMISE]
    assert check.state == NOT_CHECKED
    assert "public: nothing published yet" in check.evidence


def test_what_came_through_the_airlock_keeps_the_promise(released):
    check = released.check()[PROMISE]
    assert check.state == KEPT, check.evidence
    assert "published files came through the airlock" in check.evidence


def test_the_public_node_holds_only_what_the_reviewers_approved(released):
    with released.node("research") as research:
        from evalink.release import requests

        (request,) = requests(research)
        approved = {name: f.sha256 for name, f in request.files.items()}
        assert request.author == DEMO_AUTHOR
        assert request.state == "released"
    with released.node("public") as public:
        assert set(public.datasets()) == {"published_outputs"}
        files = published(public)
    # Byte for byte what was reviewed: each file's SHA-256 is the approved one.
    assert {f.file: hashlib.sha256(f.content).hexdigest() for f in files} == approved
    assert sorted(DEMO_REVIEWERS) == ["demo-reviewer-one", "demo-reviewer-two"]


def test_no_published_table_has_a_cell_that_fails_the_rules(released):
    # Scanned here on its own terms, not by the code that published it: every count
    # shown is at least the minimum, a multiple of the rounding base, and not zero.
    with released.node("public") as public:
        files = {f.file: f for f in published(public)}
        (part,) = public.parts("published_outputs")
        described = public.part_notes(part.part_id)["release"]["files"]
        rules = public.policy.disclosure_rules("public")
    specs = {f["file"]: f["checks"]["spec"] for f in described if f["file"].endswith(".csv")}
    counted = [name for name, spec in specs.items() if spec["aggfunc"] == "count"]
    # The demo's two count tables; its sum table only where no differencing holds it back.
    assert len(counted) == 2
    for name in counted:
        frame = pd.read_csv(io.BytesIO(files[name].content))
        index = specs[name]["index"]
        shown = frame.drop(columns=index).stack().dropna()
        assert len(shown) > 0 or frame.drop(columns=index).isna().all().all()
        for count in shown:
            assert count >= rules.min_cell_count and count % rules.rounding_base == 0, name
    assert files["report.html"].content.count(b"[c]") > 0


def test_a_table_put_at_the_public_node_outside_the_airlock_breaks_the_promise(released):
    small = b"area,attached,eligible_waiting\nNorth,3,15\n"
    forged = pa.table({
        "file": ["forged.csv"], "kind": ["table"],
        "sha256": [hashlib.sha256(small).hexdigest()], "content": [small],
    })
    with released.node("public") as public:
        public.write_dataset("published_outputs", forged)
    check = released.check()[PROMISE]
    assert check.state == BROKEN
    assert "no airlock release travels with these rows" in check.evidence
    assert "published-output-checks" in check.evidence
