"""The one read path: every page, worklist, letter and feed asks here for a course's plan.

`plan_for` asks the engine (`schedules.engine`, the only place dates are computed) with the
unit's open days and booking policy over one horizon for everyone, and catches a contradictory
history in one place: the caller gets a `CoursePlan` whose `problem` says what a clinician must
correct, never an exception. Views and templates lay out what this module returns; they hold no
date arithmetic and no window rule. `services.py` holds writes only and reads through here.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import F, Prefetch
from django.utils import timezone

from schedules import engine
from schedules.models import Dose, Slot, TreatmentCourse, Unit, UnitCalendar

# The doses a nurse may book now: the first pending dose of an active course.
BOOKABLE_STATES = (engine.DoseState.DUE, engine.DoseState.OVERDUE)

# One horizon for everyone: how far ahead "as soon as possible" may look for an open day (the
# engine searches a year). timedelta, not replace(year=…): 29 February has no year-later twin.
OPEN_DAY_HORIZON = timedelta(days=400)


def open_calendar(unit: Unit, today: date) -> UnitCalendar:
    """The unit's open days from `today` over the one planning horizon."""
    return unit.calendar(today, today + OPEN_DAY_HORIZON)


@dataclass
class CoursePlan:
    """The engine's plan as every page shows it.

    `problem` is "" or one sentence saying what in the recorded history contradicts itself;
    then `doses` is empty and pages show what is known plus that sentence.
    """

    course: TreatmentCourse
    doses: list[engine.PlannedDose] = field(default_factory=list)
    problem: str = ""

    def __iter__(self):
        return iter(self.doses)

    @property
    def pending(self) -> engine.PlannedDose | None:
        """The first dose that may be booked now (DUE or OVERDUE), if any."""
        return next((p for p in self.doses if p.state in BOOKABLE_STATES), None)

    def dose(self, number: int) -> engine.PlannedDose | None:
        return next((p for p in self.doses if p.number == number), None)


def plan_course(
    course: TreatmentCourse, *, unit: Unit, calendar: UnitCalendar, today: date, **options
) -> list[engine.PlannedDose]:
    """`course.plan` with the unit's open days and booking policy; raises `ScheduleError`."""
    return course.plan(today=today, is_open=calendar.is_open, policy=unit.policy, **options)


def plan_for(
    course: TreatmentCourse,
    *,
    today: date | None = None,
    unit: Unit | None = None,
    calendar: UnitCalendar | None = None,
    **options,
) -> CoursePlan:
    """The course's plan with the unit's open days and policy; never raises for a
    contradictory history. `course` needs its events and doses
    (`Dose.objects.with_active_booking()`) prefetched; pass `unit` and `calendar` when
    planning many courses, so they are loaded once."""
    today = today or timezone.localdate()
    unit = unit or Unit.current()
    calendar = calendar or open_calendar(unit, today)
    try:
        doses = plan_course(course, unit=unit, calendar=calendar, today=today, **options)
    except engine.ScheduleError as error:
        return CoursePlan(course, problem=f"The schedule needs checking by a clinician: {error}")
    return CoursePlan(course, doses)


def fresh_plan(course: TreatmentCourse, *, unit: Unit, today: date, before: int | None = None):
    """The engine's plan from the database as it is now (inside a service's lock); raises
    `ScheduleError`, which the service turns into its own refusal."""
    course = TreatmentCourse.objects.prefetch_related(
        "events", Prefetch("doses", queryset=Dose.objects.with_active_booking())
    ).get(pk=course.pk)
    return plan_course(
        course, unit=unit, calendar=open_calendar(unit, today), today=today, before=before
    )


class FreeSlots:
    """The unit's slots with a free place between two dates, loaded in one query, so a
    worklist can offer choices for many doses at a constant cost."""

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
                slot.free_places = slot.places - slot.booked_count
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

    `course` needs its doses (`Dose.objects.with_active_booking()`) and events prefetched.
    Stops at the first dose with no free slot in its window (later ones depend on it).
    Raises `ScheduleError` for a contradictory history.
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
