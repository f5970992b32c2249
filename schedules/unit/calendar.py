"""The unit's open days: bank holidays, closures, session weekdays and one-off sessions."""

from datetime import date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import holidays
from django.utils import timezone

if TYPE_CHECKING:
    from schedules.models import Closure, Unit


@lru_cache(maxsize=16)
def _england_bank_holidays(years: tuple[int, ...]) -> dict:
    """{date: name} for those years; worked out once per process (about 10 ms each time
    otherwise, on every page that reads the unit's open days). A plain dict, read-only."""
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=list(years)))


class UnitCalendar:
    """The unit's open days between two dates, loaded in two queries.

    A day is open when a session template runs on that weekday and the day is neither an
    England bank holiday (when the unit closes on them) nor inside a closure. One-off extra
    sessions open a day too. Passed to the engine as `is_open`.
    """

    def __init__(self, unit: "Unit", start: date, end: date):
        self.unit, self.start, self.end = unit, start, end

    @cached_property
    def weekdays(self) -> set[int]:
        return set(
            self.unit.session_templates.filter(active=True).values_list("weekday", flat=True)
        )

    @cached_property
    def closures(self) -> list["Closure"]:
        return list(self.unit.closures.filter(start_date__lte=self.end, end_date__gte=self.start))

    @cached_property
    def holidays(self) -> dict:
        return self.unit.bank_holidays(range(self.start.year, self.end.year + 2))

    def closure_reason(self, day: date) -> str:
        """Why the unit is closed that day ("" when it is not closed)."""
        if day in self.holidays:
            return f"Bank holiday: {self.holidays.get(day)}"
        for closure in self.closures:
            if closure.start_date <= day <= closure.end_date:
                return f"Closed: {closure.reason}"
        return ""

    @cached_property
    def extra_session_days(self) -> set[date]:
        """Days with a one-off extra session (a slot made by hand, not from a template)."""
        from schedules.models import Slot

        starts = (
            Slot.objects.between(self.unit, self.start, self.end)
            .filter(template__isnull=True)
            .values_list("start", flat=True)
        )
        return {timezone.localtime(start, self.unit.zone).date() for start in starts}

    def is_open(self, day: date) -> bool:
        if self.closure_reason(day):
            return False
        return day.weekday() in self.weekdays or day in self.extra_session_days
