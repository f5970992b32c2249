"""Search parameters: parsed strictly, so a mistyped or unsupported parameter is a 400
OperationOutcome rather than a search that silently ignores it (FHIR "strict" handling)."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.dateparse import parse_datetime

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 1_000_000

# FHIR date search prefixes this API understands (R4 §3.1.1.4.3 "search": eq, ne, gt, lt, ge,
# le; sa, eb and ap are not offered and are refused).
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_ID = re.compile(r"[0-9]{1,18}")


class SearchError(ValueError):
    """A parameter this API refuses; the message says which and why (shown to the client)."""


@dataclass(frozen=True)
class Interval:
    """A date search value as the half-open range of instants it stands for (its precision:
    '2026' is the whole year), with the prefix that compares a field to it."""

    prefix: str
    low: datetime
    high: datetime

    def q(self, field: str) -> Q:
        """A filter on a datetime field."""
        low, high = self.low, self.high
        return {
            "eq": Q(**{f"{field}__gte": low, f"{field}__lt": high}),
            "ne": Q(**{f"{field}__lt": low}) | Q(**{f"{field}__gte": high}),
            "gt": Q(**{f"{field}__gte": high}),
            "ge": Q(**{f"{field}__gte": low}),
            "lt": Q(**{f"{field}__lt": low}),
            "le": Q(**{f"{field}__lt": high}),
        }[self.prefix]

    def q_date(self, field: str, zone: ZoneInfo) -> Q:
        """A filter on a date field: the instants become the unit's local days."""
        low = self.low.astimezone(zone).date()
        # The last day the range touches, inclusive.
        high = (self.high - timedelta(microseconds=1)).astimezone(zone).date()
        return {
            "eq": Q(**{f"{field}__gte": low, f"{field}__lte": high}),
            "ne": Q(**{f"{field}__lt": low}) | Q(**{f"{field}__gt": high}),
            "gt": Q(**{f"{field}__gt": high}),
            "ge": Q(**{f"{field}__gte": low}),
            "lt": Q(**{f"{field}__lt": low}),
            "le": Q(**{f"{field}__lte": high}),
        }[self.prefix]


def parse_date(name: str, raw: str, zone: ZoneInfo) -> Interval:
    """'ge2026-01-01', '2026-03', 'lt2026-03-29T01:30:00Z'. A date without a time is a day of the
    unit's zone (Europe/London), so 'eq2026-03-29' is that whole 23-hour day."""
    prefix, value = "eq", raw.strip()
    if value[:2] in PREFIXES:
        prefix, value = value[:2], value[2:]
    if len(value) <= 10:
        match = _DATE.fullmatch(value)
        if not match:
            raise SearchError(f"{name}: {raw!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD).")
        year, month, day = (int(part) if part else None for part in match.groups())
        try:
            first = date(year, month or 1, day or 1)
            if day:
                last = first + timedelta(days=1)
            elif month:
                last = date(year + (month == 12), month % 12 + 1, 1)
            else:
                last = date(year + 1, 1, 1)
        except (ValueError, OverflowError):
            raise SearchError(f"{name}: {raw!r} is not a date in the calendar.") from None
        low = datetime.combine(first, time.min, tzinfo=zone)
        high = datetime.combine(last, time.min, tzinfo=zone)
        return _in_range(name, raw, Interval(prefix, low, high), zone)
    try:
        instant = parse_datetime(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise SearchError(
            f"{name}: {raw!r} is not a date or a date and time with its zone "
            "(2026-01-31T09:00:00Z)."
        )
    # A time has the precision it is written with; seconds are as fine as this API goes.
    low = instant.replace(microsecond=0)
    try:
        high = low + timedelta(seconds=1)
    except OverflowError:
        raise SearchError(f"{name}: {raw!r} is out of range.") from None
    return _in_range(name, raw, Interval(prefix, low, high), zone)


def _in_range(name: str, raw: str, interval: Interval, zone: ZoneInfo) -> Interval:
    """Refuse an instant at the calendar's edge (year 1 at +14:00, year 9999 at -14:00) that
    the database or the unit's zone cannot hold: a 400, not an overflow inside the query."""
    try:
        for instant in (interval.low, interval.high):
            instant.astimezone(UTC)
            instant.astimezone(zone)
            (instant - timedelta(microseconds=1)).astimezone(zone)
    except (OverflowError, ValueError):
        raise SearchError(f"{name}: {raw!r} is out of range.") from None
    return interval


def parse_id(name: str, raw: str, resource_type: str | None = None) -> int:
    """'123' or, for a reference, 'Patient/123'."""
    value = raw.strip()
    if resource_type and value.startswith(f"{resource_type}/"):
        value = value[len(resource_type) + 1 :]
    if not _ID.fullmatch(value):
        expected = f"{resource_type}/<id> or <id>" if resource_type else "a numeric id"
        raise SearchError(f"{name}: {raw!r} is not {expected}.")
    return int(value)


def parse_int(name: str, raw: str, *, low: int, high: int) -> int:
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise SearchError(f"{name}: {raw!r} is not a whole number from {low} to {high}.")
    number = int(value)
    if not low <= number <= high:
        raise SearchError(f"{name}: {raw!r} is not a whole number from {low} to {high}.")
    return number


def parse_token(name: str, raw: str) -> tuple[str | None, str]:
    """'system|value' → (system, value); '|value' → ('', value); 'value' → (None, value)."""
    if "|" in raw:
        system, value = raw.split("|", 1)
    else:
        system, value = None, raw
    if not value.strip():
        raise SearchError(f"{name}: give a value, as system|value or value.")
    return system, value.strip()


def parse_code(name: str, raw: str, allowed) -> list[str]:
    """A token search on a code: one or several, comma-separated ('booked,arrived')."""
    codes = [code.strip() for code in raw.split(",")]
    unknown = [code for code in codes if code not in allowed]
    if unknown:
        raise SearchError(f"{name}: {unknown[0]!r} is not one of {', '.join(sorted(allowed))}.")
    return codes
