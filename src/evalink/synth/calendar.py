"""The synthetic world's calendar.

Dates are held as int32 days since 1970-01-01 while generating (vectorised arithmetic)
and turned into ISO strings or Arrow dates only when written.
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


# Outcomes are observed from the start of the baseline to the end of the follow-up.
STUDY_START = day("2013-04-01")
STUDY_END = day("2020-04-01")  # exclusive
# Eligibility is judged on the two years before the first attachment could happen.
BASELINE_START = day("2013-04-01")
BASELINE_END = day("2015-04-01")  # exclusive
# Phase 2 of the programme attached families over two financial years.
ATTACH_START = day("2015-04-01")
ATTACH_END = day("2017-04-01")  # exclusive
# Ages in the household model are ages on this date.
REFERENCE_DATE = day("2015-04-01")
# Departments hold a NINO for everyone aged 16+ on the date they are asked to match.
SNAPSHOT_DATE = day("2020-03-31")


def iso(days: np.ndarray) -> np.ndarray:
    """Days since epoch → 'YYYY-MM-DD' strings (numpy unicode)."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D")


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years).astype(np.int64) + 1
    dd = (d - months).astype(np.int64) + 1
    return y, m, dd


def from_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(year, month, day) → days; days past the month's end are clamped to its last day."""
    months = (np.asarray(y) - 1970) * 12 + (np.asarray(m) - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]")
    length = (next_first - first).astype(np.int64)
    dd = np.clip(np.asarray(d), 1, length)
    return (first.astype(np.int64) + dd - 1).astype(np.int64)


def age_years(dob: np.ndarray, on: np.ndarray | int) -> np.ndarray:
    return (np.asarray(on) - dob) / DAYS_PER_YEAR
