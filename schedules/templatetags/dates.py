"""`{% load dates %}`: `{{ value|day }}` → "Thu 26 Nov 2026", `{{ value|day_time }}` →
"Thu 26 Nov 2026, 09:00" (in the current time zone). See tofersen_scheduler/dates.py."""

from django import template

from tofersen_scheduler.dates import format_day, format_day_range, format_day_time

register = template.Library()


@register.filter
def day(value):
    return format_day(value) if value not in (None, "") else ""


@register.filter
def day_time(value):
    return format_day_time(value) if value not in (None, "") else ""


@register.filter
def day_range(start, end):
    """`{{ window_start|day_range:window_end }}` → "Mon 2 Mar – Mon 9 Mar 2026"."""
    return format_day_range(start, end) if start and end else ""
