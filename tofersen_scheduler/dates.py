"""The one way a date is written for people: "Thu 26 Nov 2026" (with ", 09:00" for a time).

Pages, the letter, messages and the calendar feeds all use these, so a nurse never compares
"Tue 01 Dec" with "05 Jan". Templates reach them through `{% load dates %}` (`|day`,
`|day_time`). Formatting only: no date arithmetic here (that is schedules/engine.py).
"""

from datetime import date, datetime

from django.utils import dateformat, timezone

DAY = "D j M Y"
DAY_TIME = "D j M Y, H:i"


def format_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, DAY)


def format_day_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, DAY_TIME)


def format_day_range(start: date, end: date) -> str:
    """ "Mon 2 Mar – Mon 9 Mar 2026": the year once when both ends share it."""
    if start.year == end.year:
        return f"{dateformat.format(start, 'D j M')} – {format_day(end)}"
    return f"{format_day(start)} – {format_day(end)}"
