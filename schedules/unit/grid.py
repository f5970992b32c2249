"""Month and week grids for the unit's calendar pages, and parsing of their query strings.

Pure standard library (``calendar``): which days make up a month or a week is grid layout, not
dose-date arithmetic, which lives in ``schedules.engine``.
"""

import calendar
import re
from datetime import date, timedelta

# Years the calendar pages accept; anything else is a typo, not a plan.
FIRST_YEAR, LAST_YEAR = 2000, 2100
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_month(text: str) -> date | None:
    """The first day of the month in "YYYY-MM", or None when it is not a sensible month."""
    match = _MONTH.fullmatch(text.strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def parse_day(text: str) -> date | None:
    """A date from "YYYY-MM-DD", or None when it is not a real date in the accepted years."""
    if not _DAY.fullmatch(text.strip()):
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def month_weeks(first: date) -> list[list[date]]:
    """The weeks (Monday first) covering the month that starts on `first`."""
    return calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(
        first.year, first.month
    )


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def week_of(day: date) -> list[date]:
    """Monday to Sunday of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=offset) for offset in range(7)]


def in_range(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


LOAD_LEVELS = 4


def load_level(booked: int, places: int) -> int:
    """A day's load for the month's heat map: 0 (empty) to 4 (full or over), by quarters."""
    if places <= 0:
        return 0
    if booked >= places:
        return LOAD_LEVELS
    return min(LOAD_LEVELS - 1, -(-booked * LOAD_LEVELS // places)) if booked else 0
