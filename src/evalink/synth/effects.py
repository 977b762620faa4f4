"""Planted programme effects.

Each effect is a rate ratio on the hazard of one kind of event for members of attached
families, by months since attachment. The defaults are the National Impact Study's
published figures (MHCLG, "National evaluation of the Troubled Families Programme
2015-2020", 2019): children looked after 0.68, adults receiving custody 0.75,
juveniles in custody 0.62, juveniles convicted 0.85, JSA claims 0.90, children on a
child protection plan about 1.15 at 7-18 months and no different after, school
attendance unchanged.

They can be changed with `--effect NAME=RATIO` (the ratio for all months after
attachment) or `--effects FILE` (JSON, the shape of truth/effects.json or
{"name": ratio | [[from_month, to_month_or_null, ratio], ...]}).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalink.errors import InputError


@dataclass(frozen=True)
class Window:
    from_month: float
    to_month: float | None  # None: no end
    ratio: float


@dataclass(frozen=True)
class EffectSpec:
    population: str
    event: str
    records: str


# What each effect acts on (documented in truth/effects.json for whoever recovers it).
SPECS: dict[str, EffectSpec] = {
    "child_looked_after": EffectSpec(
        "children aged 0-17", "start of a looked-after episode",
        "departments/dfe/looked_after.parquet; council/sources/social_care.parquet (episode_type LAC)",
    ),
    "adult_custody": EffectSpec(
        "adults aged 18+", "custodial sentence (hazard of convictions times share given custody)",
        "departments/moj/offences.parquet (sentence 'custody', juvenile false)",
    ),
    "juvenile_custody": EffectSpec(
        "juveniles aged 10-17", "custodial sentence",
        "departments/moj/offences.parquet (sentence 'custody', juvenile true)",
    ),
    "juvenile_conviction": EffectSpec(
        "juveniles aged 10-17", "offence (and so caution or conviction)",
        "departments/moj/offences.parquet (disposal 'conviction', juvenile true)",
    ),
    "jsa_claim": EffectSpec(
        "adults aged 16-65", "start of a jobseeker's claim (JSA, or UC after its roll-out)",
        "departments/dwp/benefit_spells.parquet (benefit 'JSA')",
    ),
    "child_protection_plan": EffectSpec(
        "children aged 0-17", "start of a child protection plan",
        "departments/dfe/children_in_need.parquet (episode_type 'CPP')",
    ),
    "school_attendance": EffectSpec(
        "pupils aged 5-15", "ratio on the share of sessions missed in a term",
        "departments/dfe/attendance.parquet",
    ),
}  # fmt: skip

DEFAULT_EFFECTS: dict[str, tuple[Window, ...]] = {
    "child_looked_after": (Window(0, None, 0.68),),
    "adult_custody": (Window(0, None, 0.75),),
    "juvenile_custody": (Window(0, None, 0.62),),
    "juvenile_conviction": (Window(0, None, 0.85),),
    "jsa_claim": (Window(0, None, 0.90),),
    "child_protection_plan": (Window(0, 6, 1.0), Window(6, 18, 1.15), Window(18, None, 1.0)),
    "school_attendance": (Window(0, None, 1.0),),
}

SOURCE = (
    "MHCLG (2019) National evaluation of the Troubled Families Programme 2015-2020: "
    "findings, National Impact Study (defaults; overridden values are marked)"
)

Effects = dict[str, tuple[Window, ...]]


def _windows(name: str, value: Any) -> tuple[Window, ...]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise InputError(f"effect '{name}': a ratio must be 0 or more, got {value}")
        return (Window(0, None, float(value)),)
    if isinstance(value, dict) and "windows" in value:
        value = [[w.get("from_month", 0), w.get("to_month"), w["ratio"]] for w in value["windows"]]
    if isinstance(value, list) and value:
        out = []
        for item in value:
            if not (isinstance(item, list) and len(item) == 3):
                raise InputError(f"effect '{name}': each window is [from_month, to_month|null, ratio]")
            lo, hi, ratio = item
            if float(ratio) < 0 or float(lo) < 0 or (hi is not None and float(hi) <= float(lo)):
                raise InputError(f"effect '{name}': bad window {item}")
            out.append(Window(float(lo), None if hi is None else float(hi), float(ratio)))
        return tuple(out)
    raise InputError(f"effect '{name}': expected a ratio or a list of windows")


def resolve(overrides: dict[str, Any] | None = None, file: Path | str | None = None) -> Effects:
    """The defaults, then a file's values, then explicit overrides."""
    effects = dict(DEFAULT_EFFECTS)
    sources: list[dict[str, Any]] = []
    if file is not None:
        path = Path(file)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(f"{path}: cannot read effects file ({type(error).__name__})") from error
        if isinstance(loaded, dict) and isinstance(loaded.get("effects"), dict):
            loaded = loaded["effects"]
        if not isinstance(loaded, dict):
            raise InputError(f"{path}: effects file must be a JSON object")
        sources.append(loaded)
    if overrides:
        sources.append(overrides)
    for source in sources:
        for name, value in source.items():
            if name not in SPECS:
                raise InputError(f"unknown effect '{name}'; known: {', '.join(sorted(SPECS))}")
            effects[name] = _windows(name, value)
    # Juvenile custody is planted as convictions times the share sent to custody, so
    # the share's multiplier is custody / conviction and must stay a probability.
    return effects


def parse_flag(items: list[str] | None) -> dict[str, float]:
    """['adult_custody=0.8', ...] → {'adult_custody': 0.8}."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--effect '{item}': expected NAME=RATIO, e.g. adult_custody=0.75") from None
    return out


def ratio_at(windows: tuple[Window, ...], month: float) -> float:
    for w in windows:
        if month >= w.from_month and (w.to_month is None or month < w.to_month):
            return w.ratio
    return 1.0


def cut_points(windows: tuple[Window, ...]) -> list[float]:
    """Month boundaries at which an effect's ratio may change (0 always included)."""
    points = {0.0}
    for w in windows:
        points.add(w.from_month)
        if w.to_month is not None:
            points.add(w.to_month)
    return sorted(points)


def to_json(effects: Effects) -> dict[str, Any]:
    changed = sorted(k for k in effects if effects[k] != DEFAULT_EFFECTS[k])
    return {
        "source": SOURCE,
        "measure": (
            "rate ratio on the hazard of the event for members of attached families, by "
            "months since the family's attachment date; 1.0 before attachment and for "
            "everyone else"
        ),
        "overridden": changed,
        "effects": {
            name: {
                "population": SPECS[name].population,
                "event": SPECS[name].event,
                "records": SPECS[name].records,
                "windows": [
                    {"from_month": w.from_month, "to_month": w.to_month, "ratio": w.ratio}
                    for w in windows
                ],
            }
            for name, windows in sorted(effects.items())
        },
    }
