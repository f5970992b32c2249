"""The one read path: every page, worklist, letter and feed asks here for a course's plan.

`plan_for` asks the engine (`schedules.engine`, the only place dates are computed) with the
unit's open days and booking policy over one horizon for everyone, and catches a contradictory
history in one place: the caller gets a `CoursePlan` whose `problem` says what a clinician must
correct, never an exception. Views and templates lay out what this module returns; they hold no
date arithmetic and no window rule. `services.py` holds writes only and reads through here.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from schedules import engine
from schedules.models import (
    Booking,
    ClinicianRequest,
    CourseEvent,
    CourseOutlook,
    Dose,
    FollowUpCall,
    ProjectedDose,
    Slot,
    TreatmentCourse,
    Unit,
    UnitCalendar,
)

# The doses a nurse may book now: the first pending dose of an active course.
BOOKABLE_STATES = (engine.DoseState.DUE, engine.DoseState.OVERDUE)

# How many rows a worklist shows a page: a request plans only the courses it shows (issue 8).
WORKLIST_PAGE_SIZE = 25
# How far ahead Overdue & rebook offers slots for an overdue dose ("as soon as possible").
OVERDUE_CHOICE_WEEKS = 4
CHOICES_ON_WORKLIST = 3

# How far ahead unbooked doses are kept for the capacity forecast.
PROJECTION_WEEKS = 26
FORECAST_MAX_WEEKS = 26

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
        return CoursePlan(course, problem=PROBLEM.format(error=error))
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


# Reading a course's plan for a page ------------------------------------------------------------


def course_queryset():
    """Courses with everything the engine and the worklists need, in a fixed number of
    queries: patient, consents (for blockers), events, doses with their active booking and
    any missed appointment."""
    return TreatmentCourse.objects.select_related("patient").prefetch_related(
        "events",
        "patient__consents",
        Prefetch(
            "doses",
            queryset=Dose.objects.for_planning().prefetch_related(
                Prefetch(
                    "bookings",
                    queryset=Booking.objects.filter(status=Booking.Status.NOSHOW).select_related(
                        "slot__unit"
                    ),
                    to_attr="noshow_bookings",
                )
            ),
        ),
    )


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


def next_dose(plan: CoursePlan) -> engine.PlannedDose | None:
    """The first dose not yet given: what the patient list shows. Its `date` is the one the
    record shows (booked, due, or for an overdue dose the next open day); its `due` says
    since when an overdue dose is late."""
    return next((p for p in plan if p.state != engine.DoseState.GIVEN), None)


def plans_for(courses, *, today: date, unit: Unit, **options) -> dict[int, CoursePlan]:
    """Plans for the courses a page shows, with one calendar: {course id: plan}."""
    calendar = open_calendar(unit, today)
    return {
        c.pk: plan_for(c, today=today, unit=unit, calendar=calendar, **options) for c in courses
    }


def plans_from_values(courses, *, today: date, unit: Unit, **options) -> dict[int, CoursePlan]:
    """Plans for a page that shows only each course's dates (the patient list), with the
    courses' facts read as plain values in three queries: the dates doses were given, the
    dates of their active bookings, and the decisions. The same facts `TreatmentCourse.facts`
    reads from prefetched doses (a given dose counts as given whatever its bookings say), but
    no Dose, Booking or Slot instances: at 5,000 patients building those was most of the list's
    time, and their reference cycles left garbage for a slow collection every few requests
    (issue 8). `courses` need only their status and start date.
    """
    ids = [course.pk for course in courses]
    given = {pk: {} for pk in ids}
    booked = {pk: {} for pk in ids}
    events = {pk: [] for pk in ids}
    for course_id, number, given_at in Dose.objects.filter(
        course_id__in=ids, given_at__isnull=False
    ).values_list("course_id", "number", "given_at"):
        given[course_id][number] = timezone.localdate(given_at)
    for course_id, number, start in (
        Booking.objects.active()
        .filter(dose__course_id__in=ids, dose__given_at__isnull=True)
        .values_list("dose__course_id", "dose__number", "slot__start")
    ):
        booked[course_id][number] = timezone.localtime(start, unit.zone).date()
    for course_id, kind, on, restart_loading in CourseEvent.objects.filter(
        course_id__in=ids
    ).values_list("course_id", "kind", "on", "restart_loading"):  # in the model's order
        events[course_id].append(engine.CourseEvent(engine.EventKind(kind), on, restart_loading))
    calendar = open_calendar(unit, today)
    plans = {}
    for course in courses:
        try:
            doses = engine.plan(
                start=course.start_date,
                today=today,
                given=given[course.pk],
                booked=booked[course.pk],
                events=events[course.pk],
                is_open=calendar.is_open,
                policy=unit.policy,
                **options,
            )
        except engine.ScheduleError as error:
            plans[course.pk] = CoursePlan(course, problem=PROBLEM.format(error=error))
        else:
            plans[course.pk] = CoursePlan(course, doses)
    return plans


# Worklists -------------------------------------------------------------------------------------


def _local_midnight(unit: Unit, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=unit.zone)


def _page(queryset, number) -> Page:
    page = Paginator(queryset, WORKLIST_PAGE_SIZE).get_page(number)
    page.object_list = list(page.object_list)  # one query, however often it is read
    return page


def _active():
    return course_queryset().filter(status=TreatmentCourse.Status.ACTIVE)


@dataclass(frozen=True)
class SlotChoice:
    """A one-click choice on a worklist. Slots are shared between rows, so whether a slot is
    inside this dose's window is kept here, not set on the slot (each row its own answer)."""

    slot: Slot
    in_window: bool


def _choices(slots, planned: engine.PlannedDose) -> list[SlotChoice]:
    return [
        SlotChoice(slot, planned.window_start <= slot.local_date <= planned.window_end)
        for slot in slots
    ]


@dataclass
class NeedsBookingRow:
    course: TreatmentCourse
    patient: object
    planned: engine.PlannedDose
    blockers: list[str]
    choices: list[SlotChoice] = field(default_factory=list)


@dataclass
class Problem:
    course: TreatmentCourse
    problem: str


@dataclass
class NeedsBooking:
    rows: list[NeedsBookingRow]
    problems: list[Problem]
    overdue: int
    weeks: int
    page: Page


def needs_booking(unit: Unit, *, today: date, page=1) -> NeedsBooking:
    """Doses due from today to the unit's horizon with no booking, most urgent first, each with
    the first free slots of its window. Filters on the outlook; plans only the page's courses."""
    horizon = today + timedelta(weeks=unit.needs_booking_weeks)
    due = _active().filter(outlook__next_due__gte=today, outlook__next_due__lte=horizon)
    shown = _page(due.order_by("outlook__next_due", "patient__family_name", "pk"), page)
    calendar = open_calendar(unit, today)
    rows, problems = [], []
    for course in shown.object_list:
        plan = plan_for(course, today=today, unit=unit, calendar=calendar)
        if plan.problem:
            problems.append(Problem(course, plan.problem))
        elif plan.pending is not None and plan.pending.state == engine.DoseState.DUE:
            rows.append(
                NeedsBookingRow(
                    course=course,
                    patient=course.patient,
                    planned=plan.pending,
                    blockers=course.patient.treatment_blockers(on=plan.pending.due),
                )
            )
    problems += [
        Problem(course, plan.problem)
        for course in _active().filter(outlook__problem=True)
        if (plan := plan_for(course, today=today, unit=unit, calendar=calendar)).problem
    ]
    if rows:
        last = max(row.planned.window_end for row in rows)
        free = FreeSlots(unit=unit, calendar=calendar, first=today, last=last)
        for row in rows:
            row.choices = _choices(
                free.first(
                    max(row.planned.window_start, today),
                    row.planned.window_end,
                    limit=CHOICES_ON_WORKLIST,
                ),
                row.planned,
            )
    overdue = TreatmentCourse.objects.filter(
        status=TreatmentCourse.Status.ACTIVE, outlook__next_due__lt=today
    ).count()
    return NeedsBooking(rows, problems, overdue, unit.needs_booking_weeks, shown)


@dataclass
class OverdueRow:
    course: TreatmentCourse
    patient: object
    planned: engine.PlannedDose
    missed: Booking | None
    late_days: int
    blockers: list[str]
    choices: list[SlotChoice] = field(default_factory=list)
    past_window: Slot | None = None
    request: "ClinicianRequest | None" = None


@dataclass
class FlaggedRow:
    course: TreatmentCourse
    patient: object
    planned: engine.PlannedDose
    booking: Booking
    closed: str
    outside: bool
    early: bool
    previous: engine.PlannedDose | None


@dataclass
class UnrecordedRow:
    course: TreatmentCourse
    patient: object
    planned: engine.PlannedDose
    booking: Booking


@dataclass
class OverdueWorklist:
    overdue_rows: list[OverdueRow]
    flagged: list[FlaggedRow]
    unrecorded: list[UnrecordedRow]
    problems: list[Problem]
    page: Page


def _attention_course_ids(unit: Unit, today: date, calendar: UnitCalendar) -> set[int]:
    """Courses with a booking to look at: past with no outcome, on a day closed since it was
    booked, or flagged outside its window. Bookings are bounded by the unit's places, not by
    the number of patients, so this stays small."""
    midnight = _local_midnight(unit, today)
    ids = set(
        Booking.objects.filter(status=Booking.Status.BOOKED, slot__start__lt=midnight)
        .values_list("dose__course_id", flat=True)
        .distinct()
    )
    for course_id, start in Booking.objects.filter(
        status=Booking.Status.BOOKED, slot__start__gte=midnight
    ).values_list("dose__course_id", "slot__start"):
        if calendar.closure_reason(timezone.localtime(start, unit.zone).date()):
            ids.add(course_id)
    ids.update(
        CourseOutlook.objects.filter(Q(flagged=True) | Q(problem=True)).values_list(
            "course_id", flat=True
        )
    )
    return ids


def overdue(unit: Unit, *, today: date, page=1) -> OverdueWorklist:
    """Overdue doses (with any missed appointment), bookings flagged because an earlier dose
    moved or the day closed, and past appointments with no outcome recorded."""
    calendar = open_calendar(unit, today)
    late = _active().filter(outlook__next_due__lt=today)
    shown = _page(late.order_by("outlook__next_due", "patient__family_name", "pk"), page)
    courses = {course.pk: course for course in shown.object_list}
    on_page = set(courses)
    attention = _attention_course_ids(unit, today, calendar) - set(courses)
    courses.update({course.pk: course for course in _active().filter(pk__in=attention)})
    overdue_rows, flagged, unrecorded, problems = [], [], [], []
    for course in courses.values():
        plan = plan_for(course, today=today, unit=unit, calendar=calendar)
        if plan.problem:
            problems.append(Problem(course, plan.problem))
            continue
        doses = {dose.number: dose for dose in course.doses.all()}
        previous = None
        for planned in plan:
            dose = doses.get(planned.number)
            if planned.state == engine.DoseState.OVERDUE and course.pk in on_page:
                missed = sorted(
                    getattr(dose, "noshow_bookings", []) if dose else [],
                    key=lambda b: b.slot.start,
                )
                overdue_rows.append(
                    OverdueRow(
                        course=course,
                        patient=course.patient,
                        planned=planned,
                        missed=missed[-1] if missed else None,
                        late_days=planned.days_late(today),
                        blockers=course.patient.treatment_blockers(on=today),
                    )
                )
            elif planned.state == engine.DoseState.BOOKED and dose is not None:
                booking = dose.active_booking
                # A closure or bank holiday added after booking: reported, never moved.
                closed = calendar.closure_reason(planned.date) if planned.date >= today else ""
                moved_out = planned.outside_window and not booking.override_reason
                if closed or moved_out:
                    flagged.append(
                        FlaggedRow(
                            course=course,
                            patient=course.patient,
                            planned=planned,
                            booking=booking,
                            closed=closed,
                            outside=moved_out,
                            early=planned.date < planned.window_start,
                            previous=previous,
                        )
                    )
                if planned.date < today:
                    unrecorded.append(UnrecordedRow(course, course.patient, planned, booking))
            previous = planned
    overdue_rows.sort(key=lambda row: (row.planned.due, row.patient.family_name))
    # Overdue doses: the first free slots from today (as soon as possible, DESIGN §2).
    last_day = today + timedelta(weeks=OVERDUE_CHOICE_WEEKS)
    if overdue_rows:
        free = FreeSlots(unit=unit, calendar=calendar, first=today, last=last_day)
        for row in overdue_rows:
            row.choices = _choices(
                free.first(today, last_day, limit=CHOICES_ON_WORKLIST), row.planned
            )
            row.past_window = next((c.slot for c in row.choices if not c.in_window), None)
    # A nurse's hand-off to a clinician, shown on its row while the dose is still waiting.
    requests = {
        (request.course_id, request.dose_number): request
        for request in ClinicianRequest.objects.filter(
            course__in=[row.course for row in overdue_rows]
        ).select_related("asked_by", "slot__unit")
    }
    for row in overdue_rows:
        row.request = requests.get((row.course.pk, row.planned.number))
    flagged.sort(key=lambda row: row.booking.slot.start)
    unrecorded.sort(key=lambda row: row.booking.slot.start)
    return OverdueWorklist(overdue_rows, flagged, unrecorded, problems, shown)


# Booking into one day (the month's heat map) ---------------------------------------------------

# Rows on the book-a-day page, most urgent first: enough for a clinic day, bounded at any scale.
BOOK_DAY_ROWS = 50


@dataclass
class BookDayRow:
    course: TreatmentCourse
    patient: object
    planned: engine.PlannedDose
    blockers: list[str]
    choices: list[SlotChoice] = field(default_factory=list)


def bookable_on(unit: Unit, day: date, *, today: date) -> tuple[list[Slot], list[BookDayRow]]:
    """The day's free slots, and each dose that can be booked now and whose window holds that
    day (or that is overdue: as soon as possible, DESIGN §2). Filters on the outlook, so only
    the courses shown are planned."""
    calendar = open_calendar(unit, today)
    slots = FreeSlots(unit=unit, calendar=calendar, first=day, last=day).first(day, day, limit=20)
    in_window = Q(
        outlook__next_due__gte=day - timedelta(days=unit.flag_late_days),
        outlook__next_due__lte=day + timedelta(days=unit.book_early_days),
    )
    courses = _active().filter(in_window | Q(outlook__next_due__lt=today))
    rows = []
    for course in courses.order_by("outlook__next_due", "pk")[:BOOK_DAY_ROWS]:
        pending = plan_for(course, today=today, unit=unit, calendar=calendar).pending
        if pending is None:
            continue
        overdue = pending.state == engine.DoseState.OVERDUE
        if overdue or pending.window_start <= day <= pending.window_end:
            rows.append(
                BookDayRow(
                    course=course,
                    patient=course.patient,
                    planned=pending,
                    blockers=course.patient.treatment_blockers(on=day),
                    choices=_choices(slots, pending),
                )
            )
    rows.sort(key=lambda row: (row.planned.due, row.patient.family_name))
    return slots, rows


# The book page ---------------------------------------------------------------------------------

CHOICES_ON_BOOK_PAGE = 8
# How far "look further" searches from the date the nurse picks.
LOOK_FURTHER_DAYS = 28


def book_choices(
    unit: Unit, planned: engine.PlannedDose, *, today: date, look_from: date | None = None
) -> list[Slot]:
    """Free slots for a dose: in its window from today; or, when the nurse looks further, the
    four weeks from the date she picked. Each slot says whether it is in the window (outside
    needs a clinician's reason)."""
    if look_from is not None:
        first, last, limit = look_from, look_from + timedelta(days=LOOK_FURTHER_DAYS), 20
    else:
        first = max(planned.window_start, today)
        last, limit = max(planned.window_end, first), CHOICES_ON_BOOK_PAGE
    free = FreeSlots(unit=unit, calendar=unit.calendar(first, last), first=first, last=last)
    found = free.first(first, last, limit=limit)
    for slot in found:
        slot.in_window = planned.window_start <= slot.local_date <= planned.window_end
    return found


def book_next_options(unit: Unit, suggestions: list[Suggestion], *, today: date) -> list[dict]:
    """For "Book next doses": each suggestion with the free slots of the window the suggestion
    chain gives it, so the nurse can change one. A later slot for one dose can push the next
    dose's window; the booking service then refuses the set saying which dose to change."""
    if not suggestions:
        return []
    last = max(s.planned.window_end for s in suggestions)
    free = FreeSlots(unit=unit, calendar=open_calendar(unit, today), first=today, last=last)
    rows = []
    for suggestion in suggestions:
        planned = suggestion.planned
        options = free.first(
            max(planned.window_start, today), planned.window_end, limit=CHOICES_ON_BOOK_PAGE
        )
        if suggestion.slot is not None and suggestion.slot not in options:
            options.insert(0, suggestion.slot)
        rows.append({"suggestion": suggestion, "options": options})
    return rows


# Demand and capacity ---------------------------------------------------------------------------


@dataclass
class ForecastDay:
    """One open day: places offered, doses booked, and doses due (or projected) that day that
    nobody has booked yet."""

    date: date
    places: int
    booked: int
    due_unbooked: int

    @property
    def over_capacity(self) -> bool:
        return self.booked + self.due_unbooked > self.places

    @property
    def spare(self) -> int:
        return self.places - self.booked - self.due_unbooked

    @property
    def over_by(self) -> int:
        return max(-self.spare, 0)

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "places": self.places,
            "booked": self.booked,
            "due_unbooked": self.due_unbooked,
            "over_capacity": self.over_capacity,
        }


def _demand_day(day: date, window_end: date, calendar: UnitCalendar, today: date) -> date:
    """The day an unbooked dose lands on: its date, or the next open day in its window (a due
    date on a weekend is booked on the next open day); never before today."""
    day = max(day, today)
    probe = day
    while probe <= window_end:
        if calendar.is_open(probe):
            return probe
        probe += timedelta(days=1)
    return day


def forecast(
    unit: Unit, first: date, last: date, *, today: date | None = None
) -> list[ForecastDay]:
    """Per open day from `first` to `last`: places, booked, due but unbooked.

    1. Places and bookings: the unit's slots (one aggregate query); a closed day offers none.
    2. Demand: the unbooked doses kept beside each active course (`ProjectedDose`, written
       with the outlook; no course is planned here), each counted once, on the day it lands:
       its date, or the next open day in its window; an overdue dose on the first open day
       from today (as soon as possible, DESIGN §2).
    3. A day is over capacity when booked + due unbooked exceed its places.
    """
    today = today or timezone.localdate()
    calendar = unit.calendar(min(first, today), last + timedelta(days=14))
    days: dict[date, ForecastDay] = {}
    for slot in Slot.objects.between(unit, first, last).with_booked_count():
        slot.unit = unit
        day = slot.local_date
        entry = days.setdefault(day, ForecastDay(day, 0, 0, 0))
        entry.booked += slot.booked_count
        if calendar.is_open(day):  # a day closed since its slots were made offers none
            entry.places += slot.places
    probe = first
    while probe <= last:
        if calendar.is_open(probe):
            days.setdefault(probe, ForecastDay(probe, 0, 0, 0))
        probe += timedelta(days=1)
    projected = ProjectedDose.objects.filter(
        course__status=TreatmentCourse.Status.ACTIVE, on__lte=last
    ).values_list("on", "window_end", "overdue")
    for on, window_end, overdue in projected:
        day = _demand_day(today if overdue else on, max(window_end, today), calendar, today)
        if first <= day <= last:
            days.setdefault(day, ForecastDay(day, 0, 0, 0)).due_unbooked += 1
    return [days[day] for day in sorted(days)]


@dataclass
class WeekLoad:
    first: date
    places: int
    booked: int
    due_unbooked: int

    @property
    def cannot_fit(self) -> bool:
        """More doses due this week than places left: some will fall outside their window."""
        return self.due_unbooked > self.places - self.booked


def weeks_of(days: list[ForecastDay]) -> list[WeekLoad]:
    weeks: dict[date, WeekLoad] = {}
    for day in days:
        monday = day.date - timedelta(days=day.date.weekday())
        week = weeks.setdefault(monday, WeekLoad(monday, 0, 0, 0))
        week.places += day.places
        week.booked += day.booked
        week.due_unbooked += day.due_unbooked
    return [weeks[monday] for monday in sorted(weeks)]


# A new patient's first four weeks: loading doses on days 0, 14 and 28 (US PI §2.1), so up to
# three visits in the month they start.
VISITS_IN_FIRST_MONTH = engine.LOADING_DOSE_COUNT


@dataclass
class StartCapacity:
    """ "How many more patients can we start next month?" with how it was worked out."""

    first: date
    last: date
    places: int
    booked: int
    due_unbooked: int
    spare: int
    patients: int
    visits_each: int = VISITS_IN_FIRST_MONTH

    @property
    def sentence(self) -> str:
        return (
            f"{self.first:%B %Y}: about {self.patients} more patient(s) can start. "
            f"{self.places} places − {self.booked} booked − {self.due_unbooked} due but not "
            f"yet booked = {self.spare} spare; each new patient needs {self.visits_each} "
            f"loading visits in the first four weeks (days 0, 14 and 28)."
        )


def start_capacity(unit: Unit, *, today: date | None = None) -> StartCapacity:
    """Spare places next calendar month (places − booked − due unbooked, days over capacity
    counting none), divided by the three loading visits a new patient needs in that month."""
    today = today or timezone.localdate()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    days = forecast(unit, first, last, today=today)
    spare = sum(max(day.spare, 0) for day in days)
    return StartCapacity(
        first=first,
        last=last,
        places=sum(day.places for day in days),
        booked=sum(day.booked for day in days),
        due_unbooked=sum(day.due_unbooked for day in days),
        spare=spare,
        patients=spare // VISITS_IN_FIRST_MONTH,
    )


@dataclass
class ForecastReport:
    days: list[ForecastDay]
    weeks: list[WeekLoad]
    start: StartCapacity


def forecast_report(unit: Unit, *, weeks: int, today: date | None = None) -> ForecastReport:
    """The forecast page and command: `weeks` from today, by day and by week, and the answer
    to "how many more patients can we start next month?"."""
    today = today or timezone.localdate()
    days = forecast(unit, today, today + timedelta(weeks=weeks, days=-1), today=today)
    return ForecastReport(days, weeks_of(days), start_capacity(unit, today=today))


def held_courses() -> list[TreatmentCourse]:
    """Courses on hold for clinical review, with their booked visits (flagged: the dose cannot
    be given until a clinician records the review decision)."""
    return list(
        TreatmentCourse.objects.filter(status=TreatmentCourse.Status.HELD)
        .select_related("patient")
        .prefetch_related(
            "events",
            Prefetch(
                "doses__bookings",
                queryset=Booking.objects.active().select_related("slot__unit", "dose"),
                to_attr="held_bookings",
            ),
        )
        .order_by("patient__family_name", "pk")
    )


def follow_up_doses(today: date) -> list[dict]:
    """The follow-up-call worklist: doses given one and two days ago (PLPH typically starts
    within 48 hours, DESIGN §2) whose call has not reached the patient yet."""
    first, last = today - timedelta(days=2), today - timedelta(days=1)
    doses = (
        Dose.objects.filter(given_at__date__gte=first - timedelta(days=1))
        .select_related("course__patient")
        .prefetch_related("follow_up_calls")
        .order_by("given_at")
    )
    rows = []
    for dose in doses:
        if not first <= timezone.localdate(dose.given_at) <= last:
            continue
        calls = list(dose.follow_up_calls.all())
        if any(call.outcome != FollowUpCall.Outcome.NO_ANSWER for call in calls):
            continue
        rows.append({"dose": dose, "patient": dose.course.patient, "attempts": calls})
    return rows


# What a change will do, before it is confirmed (issue 10) --------------------------------------

# How far ahead the letter and the feed list provisional (not yet booked) dates.
PROVISIONAL_DAYS = 183


def future_bookings(course: TreatmentCourse):
    """The course's active bookings from now on: what pausing or stopping cancels (DESIGN §2:
    "Pausing cancels future bookings"). The pause and stop services cancel exactly these, and
    their previews list exactly these, so a preview cannot disagree with what happens."""
    return Booking.objects.active().filter(dose__course=course, slot__start__gte=timezone.now())


@dataclass(frozen=True)
class Reschedule:
    """Move `booking` into `slot`."""

    booking: Booking
    slot: Slot


@dataclass(frozen=True)
class Decision:
    """A clinician's decision about the course: `kind` is a `CourseEvent.Kind` value
    (pause, resume or stop), effective `on`."""

    kind: str
    on: date
    restart_loading: bool = False


@dataclass(frozen=True)
class MovedDose:
    """A later dose whose date moves: a projected date, as the patient's record and letter
    show it (given and booked dates are facts and never move by themselves)."""

    number: int
    before: date
    after: date


@dataclass(frozen=True)
class OutOfWindow:
    """A booked later dose that the change puts outside its window (DESIGN §2: unit policy):
    left where it is and flagged for rebooking, never moved silently."""

    booking: Booking
    planned: engine.PlannedDose

    @property
    def early(self) -> bool:
        return self.planned.date < self.planned.window_start


@dataclass
class ChangePreview:
    """What a reschedule, pause, resume or stop will change, computed by the engine on the
    course's facts with the change applied in memory (nothing is written)."""

    moved: list[MovedDose] = field(default_factory=list)
    out_of_window: list[OutOfWindow] = field(default_factory=list)
    cancelled: list[Booking] = field(default_factory=list)
    # The first dose not yet given, after the change (what resuming makes due).
    next_dose: engine.PlannedDose | None = None
    # A date or time on the patient's schedule letter changes: it must be printed again.
    letter_changes: bool = False
    problem: str = ""

    @property
    def fingerprint(self) -> str:
        """A short digest of everything the preview says. A page posts back the fingerprint
        of the preview it showed; the change is made only when it still matches, so what
        the user confirmed is what happens."""
        parts = [
            self.problem,
            repr([(m.number, m.before, m.after) for m in self.moved]),
            repr(
                [
                    (o.booking.pk, o.planned.window_start, o.planned.window_end)
                    for o in self.out_of_window
                ]
            ),
            repr(sorted(b.pk for b in self.cancelled)),
            repr(self.next_dose.as_dict() if self.next_dose else None),
            repr(self.letter_changes),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def preview_confirmed(preview: ChangePreview, posted: str | None) -> bool:
    """Whether the user confirmed this very preview (the fingerprint the page posted back):
    a change is made only then, so what was shown is what happens (issue 10)."""
    return posted == preview.fingerprint


def _letter_lines(plan_until: list[engine.PlannedDose], starts: list[datetime]) -> tuple:
    """What the schedule letter prints for a course: its future appointments (date and time)
    and its provisional dates (an overdue dose as "as soon as possible")."""
    pending = (engine.DoseState.DUE, engine.DoseState.OVERDUE, engine.DoseState.PLANNED)
    provisional = [
        (p.state == engine.DoseState.OVERDUE, p.date) for p in plan_until if p.state in pending
    ]
    return tuple(sorted(starts)), tuple(provisional)


def preview_change(
    course: TreatmentCourse, *, change: Reschedule | Decision, today: date | None = None
) -> ChangePreview:
    """What `change` will do to `course`, before it is confirmed.

    1. Read the course's facts (doses given, active bookings, events) in a fixed number of
       queries, whatever the number of doses.
    2. Build the facts after the change in memory: a booking moved to another day; or a
       decision added to the events, with the future bookings a pause or stop cancels
       (`future_bookings`, the very query the services cancel) taken out.
    3. Plan both with the engine (the unit's open days and window, DESIGN §2) and compare:
       projected doses whose date moves, booked later doses newly outside their window,
       the next dose after the change, and whether the schedule letter's dates change.
    """
    today = today or timezone.localdate()
    unit = Unit.current()
    calendar = open_calendar(unit, today)
    course = TreatmentCourse.objects.prefetch_related(
        "events", Prefetch("doses", queryset=Dose.objects.with_active_booking())
    ).get(pk=course.pk)
    given, booked = course.facts()
    events = course.engine_events()
    now = timezone.now()
    bookings = {
        dose.number: dose.active_booking
        for dose in course.doses.all()
        if not dose.given_at and dose.active_booking is not None
    }
    starts = {number: booking.slot.start for number, booking in bookings.items()}

    after_booked, after_starts, after_events = dict(booked), dict(starts), list(events)
    preview = ChangePreview()
    changed = None
    if isinstance(change, Reschedule):
        changed = change.booking.dose.number
        slot = change.slot
        if slot.unit_id == unit.pk:
            slot.unit = unit  # local_date without another query
        after_booked[changed] = slot.local_date
        after_starts[changed] = slot.start
    else:
        on = max(change.on, course.start_date)  # as the services record it (_event_date)
        after_events.append(
            engine.CourseEvent(
                kind=engine.EventKind(change.kind),
                on=on,
                restart_loading=change.restart_loading,
            )
        )
        if change.kind in (engine.EventKind.PAUSE, engine.EventKind.STOP):
            preview.cancelled = list(
                future_bookings(course).select_related("dose", "slot__unit").order_by("slot__start")
            )
            for booking in preview.cancelled:
                after_booked.pop(booking.dose.number, None)
                after_starts.pop(booking.dose.number, None)

    def plan(booked_dates, course_events, **limits):
        return engine.plan(
            start=course.start_date,
            today=today,
            given=given,
            booked=booked_dates,
            events=course_events,
            is_open=calendar.is_open,
            policy=unit.policy,
            **limits,
        )

    until = today + timedelta(days=PROVISIONAL_DAYS)
    try:
        before = {p.number: p for p in plan(booked, events)}
        after_plan = plan(after_booked, after_events)
        letter_before = _letter_lines(
            plan(booked, events, until=until), [s for s in starts.values() if s >= now]
        )
        letter_after = _letter_lines(
            plan(after_booked, after_events, until=until),
            [s for s in after_starts.values() if s >= now],
        )
    except engine.ScheduleError as error:
        preview.problem = PROBLEM.format(error=error)
        return preview
    for planned in after_plan:
        old = before.get(planned.number)
        if planned.number == changed or planned.state == engine.DoseState.GIVEN:
            continue
        if planned.state == engine.DoseState.BOOKED:
            newly_out = planned.outside_window and not (
                old is not None and old.state == engine.DoseState.BOOKED and old.outside_window
            )
            if newly_out and planned.number in bookings:
                preview.out_of_window.append(OutOfWindow(bookings[planned.number], planned))
        elif old is not None and old.state != engine.DoseState.BOOKED and old.date != planned.date:
            preview.moved.append(MovedDose(planned.number, old.date, planned.date))
    preview.next_dose = next_dose(CoursePlan(course, after_plan))
    preview.letter_changes = letter_before != letter_after
    return preview


def bookings_between(unit: Unit, first: date, last: date) -> list[Booking]:
    """Active bookings on the unit's days `first` to `last`: what closing those days leaves
    to be rescheduled (a closure never cancels a booking; a nurse moves each one)."""
    return list(
        Booking.objects.active()
        .filter(slot__in=Slot.objects.between(unit, first, last))
        .select_related("dose__course__patient", "slot__unit")
        .order_by("slot__start", "pk")
    )
