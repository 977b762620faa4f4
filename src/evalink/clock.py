"""The day evalink acts on: the system's date, or one set with `evalink --today
YYYY-MM-DD` or `EVALINK_TODAY`.

Retention counts from "today" (30 days after receipt, the end of 2022, seven years
after a case closed), so a data protection officer must be able to ask "what happens
on 2023-01-01?" without waiting for it, and tests must stand on the days that matter.
Only the *effective date* moves: the audit log still records the wall-clock time of
every entry, and the effective date beside it when the two differ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from evalink.errors import InputError

TODAY_VARIABLE = "EVALINK_TODAY"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def iso_day(value: str) -> date | None:
    """The day `value` names if it is written YYYY-MM-DD, else None: Python's
    fromisoformat also takes 20150331 and 2015-W14-2, which a mistyped date could
    become without anyone noticing."""
    text = value.strip()
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return None


def parse_day(value: str, name: str) -> date:
    day = iso_day(value)
    if day is None:
        raise InputError(f"{name}: '{value}' is not a date (YYYY-MM-DD)")
    return day


def today_from_environment() -> date | None:
    value = os.environ.get(TODAY_VARIABLE)
    return parse_day(value, TODAY_VARIABLE) if value else None


def clock_on(today: date | None) -> Clock:
    """A clock whose date is `today` (and whose time of day is the wall clock's), or the
    wall clock itself when `today` is None."""
    if today is None:
        return wall_clock

    def effective() -> datetime:
        return datetime.combine(today, wall_clock().timetz())

    return effective
