"""De-identification as the linker does it: climb the generalisation ladder until every
intruder the policy enforces is within its bound and every combination of
quasi-identifiers is shared by k persons, then suppress only what remains, family by
family.

Suppression never blanks an outcome's months since the index date: the evaluation
measures from them. For a family an attack still singles out, each round withholds one
more of what *that* intruder knows, cheapest first: the keyworker cost, the headlines,
the members' years of birth and sex, the index period, a sentence's type, then the
outcome months' detail (24-month bands, which still place every outcome before or after
the index date and within two years of it), the link between the members and last the
family's size. A sentence still alone then gets a cover: the family with the nearest
like event in the same area has the same withheld. A family kept out of a k-class loses
its quasi-identifiers the same way. If an attack still succeeds after that, the dataset
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from evalink.assemble.generalise import (
    COARSE_MONTHS,
    COLUMNS_OF,
    FINEST,
    LADDER,
    Generalisation,
    month_number,
    released,
)
from evalink.assemble.intruder import FAMILY, PERSON, Risk, attack, risky_families
from evalink.assemble.utility import RateRatio, rate_ratios
from evalink.policy.spec import Intruder

MONTHS = ("outcome_start_month", "outcome_end_month")
# What suppression can withhold from a family, in the order it is tried.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "keyworker cost": ("keyworker_cost",),
    "headlines": ("headlines",),
    "years of birth and sex": ("year_of_birth", "sex"),
    "index period": ("index_period",),
    # A sentence or exclusion type that singles someone out: the row stays, as an
    # offence or an exclusion of unstated kind.
    "outcome details": ("outcome_detail",),
    "outcome months to 24-month bands": MONTHS,
    # Which released persons are one family: the evaluation loses clustering by family
    # for these few, then their family's size.
    "link between the members": (FAMILY,),
    "family size": ("family_size",),
}
K_COMPONENTS = ("years of birth and sex", "index period")


def components_for(intruder: Intruder) -> list[str]:
    """What withholding can take from what `intruder` knows, in order."""
    known = set(intruder.knows) | set(intruder.events.knows if intruder.events else ())
    names = []
    for name, columns in COMPONENTS.items():
        if name == "link between the members":
            if intruder.unit == "family":
                names.append(name)
        elif name == "outcome details":
            # Only a detail the intruder knows of is worth withholding.
            if intruder.events is not None and "outcome_detail" in intruder.events.where:
                names.append(name)
        elif name == "index period" and intruder.events is not None:
            # Where an event sits in calendar time depends on it, known or not.
            names.append(name)
        elif known & set(columns):
            names.append(name)
    return names


@dataclass
class Deidentified:
    """What `deidentify` did and what the attacks found afterwards (counts only)."""

    rule: Generalisation
    steps: list[str]
    k: int
    quasi_identifiers: list[str]
    families: int
    persons: int
    families_suppressed: dict[str, int] = field(default_factory=dict)  # what → families
    risks: list[Risk] = field(default_factory=list)
    before: list[Risk] = field(default_factory=list)  # the same attacks on the exact table
    smallest_class: int = 0
    utility: list[RateRatio] = field(default_factory=list)

    @property
    def within(self) -> bool:
        return all(r.within for r in enforced(self.risks)) and self.smallest_class >= self.k

    def as_dict(self) -> dict[str, object]:
        return {
            "generalisation": self.rule.as_dict(),
            "steps": self.steps,
            "k": self.k,
            "quasi_identifiers": self.quasi_identifiers,
            "smallest_class": self.smallest_class,
            "families": self.families,
            "persons": self.persons,
            "families_suppressed": self.families_suppressed,
            "intruders": [r.as_dict() for r in self.risks],
            "before": [r.as_dict() for r in self.before],
            "utility": [u.as_dict() for u in self.utility],
        }


def class_sizes(table: pl.DataFrame, quasi: list[str]) -> pl.DataFrame:
    """Each person showing any quasi-identifier → how many persons share what they show.

    A value withheld from a person could be anyone's, so a person is counted with
    everyone who has the values still shown of them (a person whose year of birth, sex
    and index period are withheld is one of all those in their area). Persons with a
    value withheld where this one shows it are not counted: the size is a lower bound."""
    people = table.select(PERSON, *quasi).unique(subset=[PERSON])
    sizes = [pl.DataFrame(schema={PERSON: pl.Utf8, "size": pl.UInt32})]
    for pattern in people.select(pl.col(q).is_not_null() for q in quasi).unique().iter_rows():
        shown = [q for q, is_shown in zip(quasi, pattern, strict=True) if is_shown]
        if not shown:
            continue  # a person with every quasi-identifier withheld reveals none
        these = people.filter(
            pl.all_horizontal(
                pl.col(q).is_not_null() == is_shown
                for q, is_shown in zip(quasi, pattern, strict=True)
            )
        )
        counts = people.group_by(shown).agg(pl.len().cast(pl.UInt32).alias("size"))
        sizes.append(these.join(counts, on=shown).select(PERSON, "size"))
    return pl.concat(sizes)


def small_families(exact: pl.DataFrame, table: pl.DataFrame, quasi: list[str], k: int) -> set[str]:
    """The (true) families of persons whose quasi-identifier combination fewer than k
    persons share (persons whose quasi-identifiers are all withheld reveal none)."""
    if not quasi:
        return set()
    small = class_sizes(table, quasi).filter(pl.col("size") < k).select(PERSON)
    families = exact.select(PERSON, FAMILY).unique().join(small, on=PERSON)
    return set(families[FAMILY].to_list())


def smallest_class(table: pl.DataFrame, quasi: list[str]) -> int:
    people = table.select(PERSON).unique()
    if not quasi:
        return people.height
    sizes = class_sizes(table, quasi)
    return int(sizes["size"].min()) if sizes.height else people.height


def suppress(exact: pl.DataFrame, rule: Generalisation,
             withheld: dict[str, set[str]]) -> pl.DataFrame:
    """The release at `rule`, with each family's `withheld` components blanked (or,
    for the outcome months, coarsened)."""
    table = released(exact, rule)
    if not withheld:
        return table
    coarse = released(exact, replace(rule, month_band=COARSE_MONTHS)).select(
        pl.col(c).alias(f"coarse_{c}") for c in MONTHS
    )
    flags = pl.DataFrame(
        {
            FAMILY: list(withheld),
            **{
                f"withhold {name}": [name in parts for parts in withheld.values()]
                for name in COMPONENTS
            },
        },
        schema={FAMILY: pl.Utf8, **{f"withhold {name}": pl.Boolean for name in COMPONENTS}},
    )
    # `released` keeps the exact table's row order, so the coarse months line up.
    out = pl.concat([table, coarse], how="horizontal").join(flags, on=FAMILY, how="left")
    for name, columns in COMPONENTS.items():
        hit = pl.col(f"withhold {name}").fill_null(False)
        for column in columns:
            kept = pl.col(f"coarse_{column}") if columns == MONTHS else pl.lit(None, pl.Utf8)
            out = out.with_columns(pl.when(hit).then(kept).otherwise(pl.col(column)).alias(column))
    return out.select(table.columns)


def _cover(exact: pl.DataFrame, risks: list[Risk], intruders: list[Intruder],
           withheld: dict[str, set[str]]) -> bool:
    """A person an outsider still finds by one event, with all of their own withheld,
    is found because the other events of that kind were released in full: withhold the
    same from the family with the nearest event of the same kind in the same area, so
    that theirs is one of two. True if anything more was withheld."""
    changed = False
    for risk, intruder in zip(risks, intruders, strict=True):
        if not risk.enforced or risk.within or intruder.events is None:
            continue
        kind = {c: v for c, v in intruder.events.where.items() if c != "outcome_detail"}
        if not kind or "outcome_detail" not in intruder.events.where:
            continue
        cover = set(components_for(intruder))
        # What it knows and suppression never withholds must be the same for both.
        alike = [c for c in intruder.knows if not any(c in COMPONENTS[n] for n in cover)]
        events = exact.filter(
            pl.all_horizontal(pl.col(c).is_in(v) for c, v in kind.items())
        ).with_columns(month=month_number(pl.col("outcome_start")))
        covered = [f for f, parts in withheld.items() if cover <= parts]
        for person in sorted(risk.found):
            mine = events.filter(pl.col(PERSON) == person)
            if mine.height == 0:
                continue
            family, month = mine[FAMILY][0], mine["month"].min()
            others = events.filter(
                (pl.col(FAMILY) != family)
                & ~pl.col(FAMILY).is_in(covered)
                & pl.all_horizontal(pl.col(c).eq_missing(mine[c][0]) for c in alike)
            )
            if others.height == 0:
                continue
            nearest = others.sort((pl.col("month") - month).abs(), FAMILY)[FAMILY][0]
            withheld.setdefault(nearest, set()).update(cover)
            covered.append(nearest)
            changed = True
    return changed


def unwatched(rule: Generalisation, gate: list[Intruder],
              quasi: list[str]) -> tuple[Generalisation, list[str]]:
    """`rule` with every setting that no enforced check looks at back at its finest.

    The ladder coarsens every column together, so a rung chosen for one intruder's sake
    also coarsens columns only another knows. Coarsening a column that no enforced
    intruder knows and no k-class holds protects no one against anything the release is
    steered by, and costs the evaluation: the headlines are what selection into the
    programme followed. Where an event sits in calendar time depends on the index period,
    so an intruder who knows events looks at it too."""
    watched = set(quasi)
    for intruder in gate:
        watched |= set(intruder.knows)
        if intruder.events is not None:
            watched |= set(intruder.events.knows) | {"index_period"}
    finer = {
        setting: getattr(FINEST, setting)
        for setting, columns in COLUMNS_OF.items()
        if not watched & set(columns) and getattr(rule, setting) != getattr(FINEST, setting)
    }
    names = [", ".join(COLUMNS_OF[setting]) for setting in finer]
    return replace(rule, **finer), names


def enforced(risks: list[Risk]) -> list[Risk]:
    """The risks the release must be within; the others are measured and reported."""
    return [r for r in risks if r.enforced]


def _attacks(exact: pl.DataFrame, table: pl.DataFrame, rule: Generalisation,
             intruders: list[Intruder]) -> list[Risk]:
    return [attack(exact, table, rule, intruder) for intruder in intruders]


def deidentify(
    exact: pl.DataFrame, intruders: list[Intruder], k: int, quasi: list[str]
) -> tuple[pl.DataFrame, Deidentified]:
    """The released table and what it took. The caller refuses to send it unless
    `report.within`."""
    # Only the intruders the policy enforces steer the release; the others are attacked
    # once, on what is released, for the report.
    gate = [i for i in intruders if i.enforced]

    def rung(index: int) -> tuple[bool, pl.DataFrame, list[Risk]]:
        table = released(exact, LADDER[index][1])
        risks = _attacks(exact, table, LADDER[index][1], gate)
        passed = all(r.within for r in risks) and not small_families(exact, table, quasi, k)
        return passed, table, risks

    # Each rung's bands nest in the next one's, so what a rung releases of a value is a
    # function of what the rung below released: classes only merge going up, and a rung
    # that passes is passed by every rung above it. So the lowest rung that passes is
    # found by bisection, and when the top one does not pass, no rung does and
    # suppression starts from there.
    top = len(LADDER) - 1
    passed, table, risks = rung(top)
    chosen = top
    if passed:
        low, high = 0, top  # `high` passes
        while low < high:
            middle = (low + high) // 2
            middle_passed, middle_table, middle_risks = rung(middle)
            if middle_passed:
                high, table, risks = middle, middle_table, middle_risks
            else:
                low = middle + 1
        chosen = high
    rule, finer = unwatched(LADDER[chosen][1], gate, quasi)
    steps = [name for name, _ in LADDER[: chosen + 1]]
    if finer:
        # Nothing enforced looks at these columns, so the table and the checks of the
        # rung are unchanged by it; computed again all the same, on what is released.
        steps.append("as finely as at the first rung, since no enforced intruder knows them "
                     "and no k-class holds them: " + "; ".join(finer))
        table = released(exact, rule)
        risks = _attacks(exact, table, rule, gate)
    withheld: dict[str, set[str]] = {}
    while True:
        # Each round withholds one thing more from each family still singled out, the
        # next of what the intruder who found it knows; a family with all of that
        # withheld has nothing more to give.
        wanted = [(risky_families(exact, r), components_for(i))
                  for r, i in zip(risks, gate, strict=True) if not r.within]
        wanted.append((small_families(exact, table, quasi, k), list(K_COMPONENTS)))
        changed = False
        for families, order in wanted:
            for family in families:
                parts = withheld.setdefault(family, set())
                step = next((c for c in order if c not in parts), None)
                if step is not None:
                    parts.add(step)
                    changed = True
        if not changed:
            changed = _cover(exact, risks, gate, withheld)
        if not changed:
            break
        table = suppress(exact, rule, withheld)
        risks = _attacks(exact, table, rule, gate)
    risks = _attacks(exact, table, rule, intruders)
    suppressed = {
        name: sum(1 for parts in withheld.values() if name in parts) for name in COMPONENTS
    }
    if any(suppressed.values()):
        steps.append(
            "withheld for the families still singled out: "
            + ", ".join(f"{what} of {n}" for what, n in suppressed.items() if n)
        )
    exact_rule = Generalisation(index="month", birth_years=1, cost_band=1, headlines="all")
    before = _attacks(exact, released(exact, exact_rule), exact_rule, intruders)
    report = Deidentified(
        rule=rule,
        steps=steps,
        k=k,
        quasi_identifiers=quasi,
        # Counted on the exact table: a family whose link was withheld is still one.
        families=exact[FAMILY].n_unique() if exact.height else 0,
        persons=exact[PERSON].n_unique() if exact.height else 0,
        families_suppressed={w: n for w, n in suppressed.items() if n},
        risks=risks,
        before=before,
        smallest_class=smallest_class(table, quasi),
        utility=rate_ratios(exact, table),
    )
    return table, report
