"""The one way a date is written for people: "Thu 26 Nov 2026" (with ", 09:00" for a time).

Pages, the letter, messages and the calendar feeds all use these, so a nurse never compares
"Tue 01 Dec" with "05 Jan". Templates reach them through `{% load dates %}` (`|day`,
`|day_time`). Formatting only: no date arithmetic here (that is schedules/engine.py).
"""

from datetime import date, datetime

from django.utils import timezone

# The unit writes English only (LANGUAGE_CODE en-gb): the names are spelled out here rather
# than looked up through Django's translated date format on every call, which was a visible
# part of a worklist's time (hundreds of dates a page; issue 8).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_month(value: date) -> str:
    return f"{WEEKDAYS[value.weekday()]} {value.day} {MONTHS[value.month - 1]}"


def format_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{_day_month(value)} {value.year}"


def format_day_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{_day_month(value)} {value.year}, {value:%H:%M}"


def format_day_range(start: date, end: date) -> str:
    """ "Mon 2 Mar – Mon 9 Mar 2026": the year once when both ends share it."""
    if start.year == end.year:
        return f"{_day_month(start)} – {format_day(end)}"
    return f"{format_day(start)} – {format_day(end)}"
