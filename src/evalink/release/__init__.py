"""The airlock: nothing leaves the research node for the public unless two reviewers,
neither its author, approved exactly its bytes, and the public node checks that again.

    request = new_request(node, ["by_area.csv", "chart.png"], reason="Report, table 2",
                          drawn_from={"chart.png": ["by_area.csv"]})
    submit(node, request.id)
    for key in (bob, carol):                        # load_reviewer_key(path, passphrase)
        review(node, request.id, None, Decision.APPROVE, "no small cells", key)
        submit_review(node, request.id, key)
    approve(node, request.id, bob)
    publish(node, request.id)                       # sealed to the public node
    # at the public node, `receive` runs check_publication on the package

    states.py     the one state machine (TRANSITIONS), Decision, ReleaseRefused
    reviewers.py  reviewers' Ed25519 keys, passphrase-protected, bound to a name
    checks.py     each file's automatic check result (table register, rescan)
    requests.py   a request as data; every change through the state machine
    store.py      what a node keeps: sealed records, files by SHA-256, trusted reviewers
    airlock.py    the commands at the research node: load, change, save, audit
    publish.py    publish; check_publication (the public node's receipt check); published

See docs/release.md.
"""

from evalink.release.airlock import (
    approve,
    default_author,
    get_request,
    new_request,
    reject,
    replace_file,
    requests,
    return_request,
    review,
    submit,
    submit_review,
    view,
    withdraw,
)
from evalink.release.publish import (
    Published,
    PublishedFile,
    check_publication,
    publish,
    published,
    release_outputs,
    rescan_published,
)
from evalink.release.requests import Request, RequestFile
from evalink.release.reviewers import (
    Reviewer,
    ReviewerKey,
    load_reviewer_key,
    new_reviewer_key,
    read_reviewer_public,
)
from evalink.release.states import TRANSITIONS, Actor, Decision, ReleaseRefused, State
from evalink.release.store import trust_reviewer, trusted_reviewers

__all__ = [
    "TRANSITIONS",
    "Actor",
    "Decision",
    "Published",
    "PublishedFile",
    "ReleaseRefused",
    "Request",
    "RequestFile",
    "Reviewer",
    "ReviewerKey",
    "State",
    "approve",
    "check_publication",
    "default_author",
    "get_request",
    "load_reviewer_key",
    "new_request",
    "new_reviewer_key",
    "publish",
    "published",
    "read_reviewer_public",
    "reject",
    "release_outputs",
    "replace_file",
    "requests",
    "rescan_published",
    "return_request",
    "review",
    "submit",
    "submit_review",
    "trust_reviewer",
    "trusted_reviewers",
    "view",
    "withdraw",
]
