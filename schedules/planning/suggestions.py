"""Free slots and the first free slot for each of the next doses, chained."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F
from django.utils import timezone

from schedules import engine
from schedules.models import Slot, TreatmentCourse, Unit, UnitCalendar
from schedules.planning.plans import BOOKABLE_STATES, open_calendar, plan_course


class FreeSlots:
    """The unit's slots with a free place between two dates, loaded in one query, so a
    worklist can offer choices for many doses at a constant cost. Each slot carries its
    `booked_count` (the query's annotation)."""

    def __init__(self, *, unit: Unit, calendar: UnitCalendar, first: date, last: date):
        now = timezone.now()
        slots = (
            Slot.objects.between(unit, first, last)
            .filter(start__gte=now)
            .with_booked_count()
            .filter(booked_count__lt=F("places"))
            .exclude(template__active=False)  # a session the unit no longer runs
            .order_by("start")
        )
        self.slots = []
        for slot in slots:
            slot.unit = unit  # for local_date without another query
            # Closures added since the slots were generated still close the day.
            if not calendar.closure_reason(slot.local_date):
                self.slots.append(slot)

    def first(
        self, first: date, last: date, *, limit: int = 3, avoid_days=frozenset()
    ) -> list[Slot]:
        found = []
        for slot in self.slots:
            day = slot.local_date
            if first <= day <= last and day not in avoid_days:
                found.append(slot)
                if len(found) == limit:
                    break
        return found


@dataclass
class Suggestion:
    planned: engine.PlannedDose
    slot: Slot | None


def suggest_slots(
    *, course: TreatmentCourse, unit: Unit, count: int = 3, today: date | None = None
) -> list[Suggestion]:
    """The next `count` unbooked doses, each with the first free slot in its window, chained:
    each dose's window is the engine's, counted from the slot suggested for the dose before.

    `course` needs `facts.planning_prefetch()`. Stops at the first dose with no free slot in
    its window (later ones depend on it). Raises `ScheduleError` for a contradictory history.
    """
    today = today or timezone.localdate()
    calendar = open_calendar(unit, today)
    policy = unit.policy
    horizon = timedelta(days=count * engine.MAINTENANCE_INTERVAL_DAYS + policy.flag_late_days + 14)
    free = FreeSlots(unit=unit, calendar=calendar, first=today, last=today + horizon)
    extra: dict[int, date] = {}
    suggestions = []
    for _ in range(count):
        plan = plan_course(course, unit=unit, calendar=calendar, today=today, extra_booked=extra)
        pending = next((p for p in plan if p.state in BOOKABLE_STATES), None)
        if pending is None:
            break
        found = free.first(max(pending.window_start, today), pending.window_end, limit=1)
        slot = found[0] if found else None
        suggestions.append(Suggestion(pending, slot))
        if slot is None:
            break
        extra[pending.number] = slot.local_date
    return suggestions
