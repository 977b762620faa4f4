"""A small, household-realistic world for the linkage spec tests.

Households share a surname, an address and a postcode; some have twins (same date of
birth), juniors (a son named after his father) and Sikh or Muslim naming conventions.
A "population" file holds everyone as a department records them; a "cohort" file holds
a sample as the council records them, with the errors councils make. Named scenarios
(`SCENARIOS`) are planted with fixed record ids so a test can state one behaviour.

Everything is seeded: the same world every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import polars as pl

COLUMNS = ["record_id", "forename", "surname", "dob", "sex", "postcode", "address", "nino"]

MALE = ["JAMES", "WILLIAM", "ROBERT", "DAVID", "MICHAEL", "THOMAS", "DANIEL", "JOSHUA", "HARRY",
        "OLIVER", "JACK", "GEORGE", "CHARLIE", "MOHAMMED", "ALI", "IMRAN", "HARPREET", "GURPREET",
        "RAJINDER", "CALLUM", "LIAM", "RYAN", "KYLE", "CONNOR", "ADAM", "SAMUEL", "LEWIS", "NATHAN",
        "KIERAN", "DYLAN", "USMAN", "BILAL", "HAMZA", "ZAIN", "AMRIT", "JASPAL", "KULDIP", "SIMON",
        "PAUL", "MARK", "STEVEN", "ANDREW", "PETER", "GARY", "DEAN", "CRAIG", "LEE", "WAYNE"]  # fmt: skip
FEMALE = ["MARY", "SARAH", "EMMA", "JESSICA", "CHLOE", "SOPHIE", "OLIVIA", "AMELIA", "EMILY",
          "GRACE", "LILY", "ELLIE", "FATIMA", "AISHA", "ZAINAB", "MARYAM", "AMANDEEP", "JASPREET",
          "MANPREET", "SIMRAN", "KAREN", "JULIE", "LISA", "DONNA", "TRACEY", "NICOLA", "KELLY",
          "LAUREN", "HOLLY", "MEGAN", "BETHANY", "LEAH", "COURTNEY", "SHANNON", "AMY", "ZARA",
          "HANNAH", "RUBY", "EVIE", "POPPY", "SAIMA", "NADIA", "RANI", "PARMINDER", "KIRAN"]  # fmt: skip
WHITE_SURNAMES = ["SMITH", "JONES", "WILLIAMS", "TAYLOR", "BROWN", "DAVIES", "EVANS", "WILSON",
                  "THOMAS", "JOHNSON", "ROBERTS", "ROBINSON", "THOMPSON", "WRIGHT", "WALKER",
                  "WHITE", "EDWARDS", "HUGHES", "GREEN", "HALL", "LEWIS", "HARRIS", "CLARKE",
                  "PATEL", "JACKSON", "WOOD", "TURNER", "MARTIN", "COOPER", "HILL", "WARD",
                  "MORRIS", "MOORE", "CLARK", "LEE", "KING", "BAKER", "HARRISON", "MORGAN",
                  "ALLEN", "JAMES", "SCOTT", "PHILLIPS", "WATSON", "DAVIS", "PARKER", "PRICE",
                  "BENNETT", "YOUNG", "GRIFFITHS", "MITCHELL", "KELLY", "COOK", "CARTER", "RICHARDSON",
                  "BAILEY", "COLLINS", "BELL", "SHAW", "MURPHY", "MILLER", "COX", "RICHARDS", "KHAN"]  # fmt: skip
MUSLIM_SURNAMES = ["KHAN", "AHMED", "HUSSAIN", "ALI", "MAHMOOD", "IQBAL", "AKHTAR", "BIBI", "RASHID",
                   "AZAM", "MIRZA", "SHAH", "BEGUM", "ASLAM", "NAWAZ"]  # fmt: skip
SIKH_FAMILY_NAMES = ["SANDHU", "GILL", "DHILLON", "JOHAL", "SIDHU", "BAINS", "SAHOTA", "MANN",
                     "KANG", "SANGHA", "BASRA", "GREWAL"]  # fmt: skip
STREETS = ["HIGH STREET", "CHURCH ROAD", "STATION ROAD", "VICTORIA ROAD", "PARK ROAD", "GREEN LANE",
           "MANOR ROAD", "CHURCH STREET", "PARK AVENUE", "QUEENS ROAD", "NEW ROAD", "GROVE ROAD",
           "ALEXANDRA ROAD", "KINGS ROAD", "SOHO ROAD", "DUDLEY ROAD", "OLDBURY ROAD", "HALFORD LANE"]  # fmt: skip
NINO_LETTERS = "ABCEGHJKLMNPRSTWXYZ"


@dataclass
class Person:
    person_id: str
    forename: str
    surname: str
    dob: str
    sex: str
    postcode: str
    address: str
    nino: str | None


@dataclass
class World:
    population: pl.DataFrame  # right side: one record per person
    cohort: pl.DataFrame  # left side: some persons, recorded with errors
    truth: set[tuple[str, str]]  # (cohort record_id, population record_id)
    scenarios: dict[str, str] = field(default_factory=dict)  # scenario → cohort record_id


def _nino(rng: random.Random) -> str:
    return (
        rng.choice(NINO_LETTERS)
        + rng.choice(NINO_LETTERS)
        + f"{rng.randrange(10**6):06d}"
        + rng.choice("ABCD")
    )


def _postcode(rng: random.Random) -> str:
    return f"B{rng.randrange(60, 72)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"


def _date(rng: random.Random, start: int, end: int) -> str:
    return f"{rng.randrange(start, end)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _member(
    rng: random.Random,
    person_id: str,
    home: tuple[str, str, str, str],
    forename: str,
    sex: str,
    dob: str,
    adult: bool,
) -> Person:
    kind, surname, postcode, address = home
    if kind == "sikh" and rng.random() < 0.5:
        # Half of Sikh records carry Singh or Kaur before the family name.
        surname = f"{'SINGH' if sex == 'M' else 'KAUR'} {surname}"
    nino = _nino(rng) if adult or rng.random() < 0.3 else None
    return Person(person_id, forename, surname, dob, sex, postcode, address, nino)


def _households(rng: random.Random, n: int) -> list[list[Person]]:
    people: list[list[Person]] = []
    counter = 0
    for h in range(n):
        group = rng.random()
        if group < 0.12:
            kind, surname = "sikh", rng.choice(SIKH_FAMILY_NAMES)
        elif group < 0.27:
            kind, surname = "muslim", rng.choice(MUSLIM_SURNAMES)
        else:
            kind, surname = "white", rng.choice(WHITE_SURNAMES)
        postcode, address = _postcode(rng), f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
        members: list[Person] = []

        def add(
            forename: str, sex: str, dob: str, adult: bool, home=(kind, surname, postcode, address)
        ) -> Person:
            nonlocal counter
            counter += 1
            return _member(rng, f"p{counter}", home, forename, sex, dob, adult)

        father = rng.choice(MALE)
        members.append(add(father, "M", _date(rng, 1960, 1992), True))
        if rng.random() < 0.7:
            members.append(add(rng.choice(FEMALE), "F", _date(rng, 1962, 1994), True))
        for _ in range(rng.choice([0, 1, 2, 2, 3, 4])):
            sex = rng.choice("MF")
            name = rng.choice(MALE if sex == "M" else FEMALE)
            if sex == "M" and rng.random() < 0.08:
                name = father  # a junior
            members.append(add(name, sex, _date(rng, 2000, 2016), False))
        if rng.random() < 0.04:  # twins: same date of birth, different forenames
            dob = _date(rng, 2003, 2016)
            members.append(add(rng.choice(MALE), "M", dob, False))
            members.append(add(rng.choice(FEMALE), "F", dob, False))
        people.append(members)
        del h
    return people


def _record(record_id: str, p: Person, **changes: str | None) -> dict[str, str | None]:
    row = {"record_id": record_id, "forename": p.forename, "surname": p.surname, "dob": p.dob,
           "sex": p.sex, "postcode": p.postcode, "address": p.address, "nino": p.nino}  # fmt: skip
    row.update(changes)
    return row


def make_world(households: int = 900, cohort_share: float = 0.25, seed: int = 7) -> World:
    rng = random.Random(seed)
    homes = _households(rng, households)
    everyone = [p for home in homes for p in home]
    population = [_record(f"R{p.person_id}", p) for p in everyone]
    cohort: list[dict[str, str | None]] = []
    truth: set[tuple[str, str]] = set()
    for p in everyone:
        if rng.random() >= cohort_share:
            continue
        changes: dict[str, str | None] = {}
        if rng.random() < 0.5:
            changes["nino"] = None  # councils often do not know the NINO
        roll = rng.random()
        if roll < 0.08:
            changes["forename"] = _typo(rng, p.forename)
        elif roll < 0.14:
            changes["surname"] = _typo(rng, p.surname)
        elif roll < 0.20:
            changes["postcode"], changes["address"] = (
                _postcode(rng),
                f"{rng.randrange(1, 200)} {rng.choice(STREETS)}",
            )
        elif roll < 0.24:
            changes["dob"] = None
        cohort.append(_record(f"L{p.person_id}", p, **changes))
        truth.add((f"L{p.person_id}", f"R{p.person_id}"))
    world = World(pl.DataFrame(population), pl.DataFrame(cohort), truth)
    _plant_scenarios(world, rng)
    return world


def _plant_scenarios(world: World, rng: random.Random) -> None:
    """Fixed people, each showing one behaviour; ids are stable across runs."""
    pc, addr = "B69 3DL", "14 WELLMAN ROAD"

    def person(pid: str, forename: str, surname: str, dob: str, sex: str, nino: str | None,
               postcode: str = pc, address: str = addr) -> Person:  # fmt: skip
        return Person(pid, forename, surname, dob, sex, postcode, address, nino)

    population: list[dict[str, str | None]] = []
    cohort: list[dict[str, str | None]] = []

    def both(name: str, p: Person, **changes: str | None) -> None:
        population.append(_record(f"R{p.person_id}", p))
        cohort.append(_record(f"L{p.person_id}", p, **changes))
        world.truth.add((f"L{p.person_id}", f"R{p.person_id}"))
        world.scenarios[name] = f"L{p.person_id}"

    def only_cohort(name: str, p: Person, **changes: str | None) -> None:
        cohort.append(_record(f"L{p.person_id}", p, **changes))
        world.scenarios[name] = f"L{p.person_id}"

    # Twins: the department knows Olivia; the council's record is her twin Amelia.
    population.append(
        _record("Rtwin_a", person("twin_a", "OLIVIA", "FARRELL", "2010-06-14", "F", None))
    )
    only_cohort("twin", person("twin_b", "AMELIA", "FARRELL", "2010-06-14", "F", None))
    # Junior: the department knows the father; the council's record is his son.
    population.append(_record("Rjunior_father", person("junior_father", "KEVIN", "OSBORNE", "1978-03-09", "M", "JK135790A",
                                                     "B70 8QT", "3 HALFORD LANE")))  # fmt: skip
    only_cohort(
        "junior",
        person(
            "junior_son", "KEVIN", "OSBORNE", "2004-11-21", "M", None, "B70 8QT", "3 HALFORD LANE"
        ),
    )
    # A nickname: William at the department, Bill at the council.
    both("nickname", person("nick", "WILLIAM", "PENHALIGON", "1969-02-17", "M", "WP246802B", "B66 2RS", "70 SOHO ROAD"),
         forename="Bill", nino=None)  # fmt: skip
    # Day and month swapped at the council.
    both("dob_swap", person("swap", "DENISE", "ARKWRIGHT", "1983-04-11", "F", None, "B67 5JJ", "9 GROVE ROAD"),
         dob="1983-11-04")  # fmt: skip
    # Forename and surname swapped at the council.
    both("name_swap", person("nswap", "TARIQ", "FAROOQ", "1991-08-23", "M", None, "B68 9LP", "41 VICTORIA ROAD"),
         forename="FAROOQ", surname="TARIQ")  # fmt: skip
    # Kaur recorded as the surname at the council, the family name at the department.
    both("kaur", person("kaur", "JASPREET", "SANDHU", "1987-12-02", "F", None, "B71 4HF", "22 QUEENS ROAD"),
         surname="KAUR")  # fmt: skip
    # Hyphenated surname at the department, one part at the council; accents and case.
    both("hyphen", person("hyph", "ZOË", "O'NEILL-MCBRIDE", "1975-05-30", "F", None, "B64 6AB", "5 PARK AVENUE"),
         forename="zoe", surname="Mcbride")  # fmt: skip
    # Muslim naming: optional first given name and a transliteration variant.
    both("mohammed", person("moh", "MOHAMMED ZUBAIR", "IQBAL", "1995-01-19", "M", None, "B66 1QQ", "88 DUDLEY ROAD"),
         forename="Zubair", surname="Iqbal")  # fmt: skip
    # Name order: the council wrote the family name first and the given name as the
    # surname; the department wrote the given name and Kaur.
    both(
        "name_order",
        person("order", "HARPREET", "KAUR", "2006-06-15", "F", None, "DY4 9RN", "3 ELLIS PLACE"),
        forename="KANG",
        surname="HARPREET",
    )
    # The council wrote Singh in the forename field and the given name as the surname;
    # the department, the given name and the family name.
    both(
        "singh_first",
        person("singhfirst", "BALVINDER", "SANDHU", "1979-10-05", "M", None, "B66 4PL", "12 RABONE LANE"),
        forename="SINGH",
        surname="BALVINDER",
    )  # fmt: skip
    # Only the honorific given name at the department, the name he uses at the council.
    both(
        "mohammed_only",
        person(
            "mohonly", "MOHAMMED", "BASHIR", "2012-12-09", "M", None, "B67 7EH", "9 MORRIS LANE"
        ),
        forename="ABDUL",
    )
    # Two different people who share an invalid, placeholder NINO (and nothing else
    # decisive): the NINO must count for nothing.
    population.append(_record("Rbadnino_a", person("badnino_a", "GARETH", "PRYCE", "1966-09-01", "M", "QQ123456C",
                                                  "B62 0AA", "1 NEW ROAD")))  # fmt: skip
    only_cohort(
        "invalid_nino",
        person(
            "badnino_b", "GARY", "PRICE", "1971-02-03", "M", "QQ123456C", "B63 4XY", "77 MANOR ROAD"
        ),
    )
    world.population = pl.concat(
        [world.population, pl.DataFrame(population)], how="vertical_relaxed"
    )
    world.cohort = pl.concat([world.cohort, pl.DataFrame(cohort)], how="vertical_relaxed")
    del rng


def score(links: pl.DataFrame, truth: set[tuple[str, str]]) -> dict[str, float]:
    found = set(zip(links["left_id"], links["right_id"], strict=True))
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
