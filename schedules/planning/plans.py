"""A course's plan as every page shows it: `plan_for` asks the engine with the unit's open days
and booking policy over one horizon for everyone, and catches a contradictory history in one
place (the caller gets a `CoursePlan` whose `problem` says what a clinician must correct)."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from schedules import engine
from schedules.models import Booking, Dose, TreatmentCourse, Unit, UnitCalendar
from schedules.planning.facts import CourseFacts, planned_course

# The doses a nurse may book now: the first pending dose of an active course.
BOOKABLE_STATES = (engine.DoseState.DUE, engine.DoseState.OVERDUE)

# One horizon for everyone: how far ahead "as soon as possible" may look for an open day (the
# engine searches a year). timedelta, not replace(year=…): 29 February has no year-later twin.
OPEN_DAY_HORIZON = timedelta(days=400)

# What a page says instead of a plan when the recorded history contradicts itself.
PROBLEM = "The schedule needs checking by a clinician: {error}"


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
    course: TreatmentCourse,
    *,
    unit: Unit,
    calendar: UnitCalendar,
    today: date,
    before: int | None = None,
    extra_booked: dict[int, date] | None = None,
    **limits,
) -> list[engine.PlannedDose]:
    """The engine's plan for a prefetched course (`facts.planning_prefetch`) with the unit's
    open days and booking policy; `extra_booked` adds hypothetical bookings (chained
    suggestions). Raises `ScheduleError`."""
    facts = CourseFacts.from_prefetched(course, before=before).with_booked(extra_booked or {})
    return facts.plan(today=today, is_open=calendar.is_open, policy=unit.policy, **limits)


def plan_for(
    course: TreatmentCourse,
    *,
    today: date | None = None,
    unit: Unit | None = None,
    calendar: UnitCalendar | None = None,
    **options,
) -> CoursePlan:
    """The course's plan with the unit's open days and policy; never raises for a
    contradictory history. `course` needs `facts.planning_prefetch()`; pass `unit` and
    `calendar` when planning many courses, so they are loaded once."""
    today = today or timezone.localdate()
    unit = unit or Unit.current()
    calendar = calendar or open_calendar(unit, today)
    try:
        doses = plan_course(course, unit=unit, calendar=calendar, today=today, **options)
    except engine.ScheduleError as error:
        return CoursePlan(course, problem=PROBLEM.format(error=error))
    return CoursePlan(course, doses)


def fresh_plan(course: TreatmentCourse, *, unit: Unit, today: date, before: int | None = None):
    """The engine's plan from the database as it is now (inside a service's lock); raises
    `ScheduleError`, which the service turns into its own refusal."""
    return plan_course(
        planned_course(course.pk),
        unit=unit,
        calendar=open_calendar(unit, today),
        today=today,
        before=before,
    )


def plans_for(courses, *, today: date, unit: Unit, **options) -> dict[int, CoursePlan]:
    """Plans for the courses a page shows, with one calendar: {course id: plan}."""
    calendar = open_calendar(unit, today)
    return {
        c.pk: plan_for(c, today=today, unit=unit, calendar=calendar, **options) for c in courses
    }


def plans_from_values(courses, *, today: date, unit: Unit, **options) -> dict[int, CoursePlan]:
    """Plans for a page that shows only each course's dates (the patient list), from facts
    read as plain values (`CourseFacts.from_values`: no Dose, Booking or Slot instances,
    whose reference cycles left garbage for a slow collection every few requests, issue 8).
    `courses` need only their status and start date."""
    facts = CourseFacts.from_values(courses, zone=unit.zone)
    calendar = open_calendar(unit, today)
    plans = {}
    for course in courses:
        try:
            doses = facts[course.pk].plan(
                today=today, is_open=calendar.is_open, policy=unit.policy, **options
            )
        except engine.ScheduleError as error:
            plans[course.pk] = CoursePlan(course, problem=PROBLEM.format(error=error))
        else:
            plans[course.pk] = CoursePlan(course, doses)
    return plans


def next_dose(plan: CoursePlan) -> engine.PlannedDose | None:
    """The first dose not yet given: what the patient list shows. Its `date` is the one the
    record shows (booked, due, or for an overdue dose the next open day); its `due` says
    since when an overdue dose is late."""
    return next((p for p in plan if p.state != engine.DoseState.GIVEN), None)


@dataclass
class TimelineRow:
    """One dose on a patient's record, as the record shows it."""

    plan: engine.PlannedDose
    dose: Dose | None
    booking: Booking | None
    # A due date on a weekend or bank holiday: book the next open day in the window (the
    # engine never moves a date that is not yet due).
    closed: bool
    # May be booked now (DUE or OVERDUE): the one rule, BOOKABLE_STATES.
    bookable: bool
    # Booked outside the unit's window (an earlier dose moved).
    outside_window: bool


def timeline(plan: CoursePlan, calendar: UnitCalendar) -> list[TimelineRow]:
    doses = {dose.number: dose for dose in plan.course.doses.all()}
    rows = []
    for planned in plan:
        dose = doses.get(planned.number)
        rows.append(
            TimelineRow(
                plan=planned,
                dose=dose,
                booking=dose.active_booking if dose else None,
                closed=planned.state in (engine.DoseState.DUE, engine.DoseState.PLANNED)
                and not calendar.is_open(planned.date),
                bookable=planned.state in BOOKABLE_STATES,
                outside_window=planned.state == engine.DoseState.BOOKED and planned.outside_window,
            )
        )
    return rows
