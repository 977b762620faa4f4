"""`evalink policy ...`, `evalink notice`, `evalink ropa`: the policy file's commands."""

from __future__ import annotations

from pathlib import Path

import typer

from evalink.cli.app import app, console, group
from evalink.cli.options import NoticeFormat, RopaFormat

policy_app = group("Check and explain a policy file.")
app.add_typer(policy_app, name="policy")

PolicyFile = typer.Argument(..., help="The policy YAML file.", show_default=False)


def _emit(text: str, out: Path | None) -> None:
    """Write a rendered document to `out` atomically, or print it."""
    if out is None:
        typer.echo(text, nl=False)
        return
    from evalink.files import write_text_atomic

    write_text_atomic(out, text)
    console.print(f"wrote {out}", highlight=False)


@policy_app.command("check")
def check(policy_file: Path = PolicyFile) -> None:
    """Validate a policy: schema, references, lawful conditions, and that no flow breaks a promise."""
    from evalink.policy import load_policy

    policy = load_policy(policy_file)
    doc = policy.document
    console.print(
        f"[green]ok[/green] {policy_file}: policy '{policy.id}' version {policy.version} — "
        f"{len(doc.parties)} parties, {len(doc.datasets)} datasets, {len(doc.flows)} flows, "
        f"{len(doc.retention)} retention rules, {len(doc.exports)} export rules, "
        f"{len(doc.safeguards)} safeguards, {len(doc.promises)} promises",
        highlight=False,
    )
    from evalink.policy.measures import stated_not_enforced

    # A rule the code does not apply yet is not a promise kept: say so where the policy's
    # author looks, as the ROPA does (the notice leaves it out).
    for rule_id, sentence in stated_not_enforced(policy):
        console.print(f"stated, not yet enforced by evalink: {rule_id} ({sentence})",
                      markup=False, highlight=False)


@policy_app.command("explain")
def explain(
    policy_file: Path = PolicyFile,
    sender: str = typer.Option(..., "--from", help="Sending party id."),
    recipient: str = typer.Option(..., "--to", help="Receiving party id."),
    dataset: str = typer.Option(..., "--dataset", help="Dataset id."),
) -> None:
    """Say whether a flow is allowed, which fields, under which purpose and basis.

    Exit code 0 when allowed, 1 when the policy refuses it, 2 on a bad policy file.
    """
    from evalink.policy import explain_flow, load_policy

    explanation = explain_flow(load_policy(policy_file), sender, recipient, dataset)
    for line in explanation.lines:
        console.print(line, markup=False, highlight=False)
    if not explanation.allowed:
        raise typer.Exit(1)


@app.command("notice")
def notice(
    policy_file: Path = PolicyFile,
    format: NoticeFormat = typer.Option(NoticeFormat.md, "--format", help="Markdown or HTML."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Render the privacy notice (UK GDPR Art 14) from a policy."""
    from evalink.policy import load_policy, render_notice

    _emit(render_notice(load_policy(policy_file), format.value), out)


@app.command("ropa")
def ropa(
    policy_file: Path = PolicyFile,
    format: RopaFormat = typer.Option(RopaFormat.md, "--format", help="Markdown or CSV."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Render the Record of Processing Activities (UK GDPR Art 30(1)) from a policy."""
    from evalink.policy import load_policy, render_ropa

    _emit(render_ropa(load_policy(policy_file), format.value), out)
