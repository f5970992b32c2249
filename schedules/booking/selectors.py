"""The booking worklists and pages, read only: doses to book, overdue doses and flagged
bookings, the doses bookable on one day, and the free slots offered for a dose."""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.utils import timezone

from schedules import engine
from schedules.models import (
    Booking,
    ClinicianRequest,
    CourseOutlook,
    Slot,
    TreatmentCourse,
    Unit,
    UnitCalendar,
)
from schedules.planning import plans, previews
from schedules.planning.facts import course_queryset
from schedules.planning.plans import open_calendar
from schedules.planning.suggestions import FreeSlots, Suggestion, failed_days, rank_offers
from schedules.unit.loads import LevelLoad, level_loads

# How many rows a worklist shows a page: a request plans only the courses it shows (issue 8).
WORKLIST_PAGE_SIZE = 25
# How far ahead Overdue & rebook offers slots for an overdue dose ("as soon as possible").
OVERDUE_CHOICE_WEEKS = 4
CHOICES_ON_WORKLIST = 3


def local_midnight(unit: Unit, day: date) -> datetime:
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
    load: LevelLoad | None = None

    @property
    def free_places(self) -> int:
        return self.slot.places - self.slot.booked_count


def _choices(slots, planned: engine.PlannedDose, loads=None) -> list[SlotChoice]:
    loads = loads or {}
    return [
        SlotChoice(
            slot,
            planned.window_start <= slot.local_date <= planned.window_end,
            loads.get(slot.local_date),
        )
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
        plan = plans.plan_for(course, today=today, unit=unit, calendar=calendar)
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
        if (plan := plans.plan_for(course, today=today, unit=unit, calendar=calendar)).problem
    ]
    if rows:
        last = max(row.planned.window_end for row in rows)
        free = FreeSlots(unit=unit, calendar=calendar, first=today, last=last)
        # Levelled, best first (issue 19 item 3), with each day's load shown in words.
        loads = level_loads(unit, today, last, calendar=calendar)
        for row in rows:
            offers = rank_offers(
                free, loads, max(row.planned.window_start, today), row.planned.window_end
            )
            row.choices = _choices(
                [offer.slot for offer in offers[:CHOICES_ON_WORKLIST]], row.planned, loads
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
    planned: engine.PlannedDose | None  # None for an arrival on a course no longer planned
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
    midnight = local_midnight(unit, today)
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


def _arrived_without_outcome(unit: Unit, today: date, listed: set[int]) -> list[UnrecordedRow]:
    """Every visit of a past day the patient arrived for with no outcome, whatever the course
    has become since (held, paused, stopped): listed until someone records what happened
    (issue 17 §5 "Every visit ends"). Bounded by the unit's places, not by the patients."""
    bookings = (
        Booking.objects.filter(
            status=Booking.Status.ARRIVED, slot__start__lt=local_midnight(unit, today)
        )
        .exclude(pk__in=listed)
        .select_related("dose__course__patient", "slot__unit")
    )
    return [
        UnrecordedRow(booking.dose.course, booking.dose.course.patient, None, booking)
        for booking in bookings
    ]


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
        plan = plans.plan_for(course, today=today, unit=unit, calendar=calendar)
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
    unrecorded.extend(_arrived_without_outcome(unit, today, {row.booking.pk for row in unrecorded}))
    unrecorded.sort(key=lambda row: row.booking.slot.start)
    return OverdueWorklist(overdue_rows, flagged, unrecorded, problems, shown)


@dataclass
class AskedRow:
    course: TreatmentCourse
    patient: object
    planned: engine.PlannedDose
    request: ClinicianRequest


def clinician_requests(unit: Unit, *, today: date) -> list[AskedRow]:
    """Every nurse's hand-off still waiting, oldest first: listed on Overdue & rebook ("Asked
    of a clinician") while its dose is the next dose to book of an active course, on whichever
    page of the worklist the course falls (the message after asking says it is listed there).
    Plans only the courses asked about (a handful)."""
    requests = list(
        ClinicianRequest.objects.filter(course__status=TreatmentCourse.Status.ACTIVE)
        .select_related("asked_by", "slot__unit")
        .order_by("asked_at", "pk")
    )
    if not requests:
        return []
    courses = {c.pk: c for c in _active().filter(pk__in={r.course_id for r in requests})}
    calendar = open_calendar(unit, today)
    rows = []
    for request in requests:
        course = courses.get(request.course_id)
        if course is None:
            continue
        pending = plans.plan_for(course, today=today, unit=unit, calendar=calendar).pending
        if pending is not None and pending.number == request.dose_number:
            rows.append(AskedRow(course, course.patient, pending, request))
    return rows


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
        pending = plans.plan_for(course, today=today, unit=unit, calendar=calendar).pending
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


@dataclass(frozen=True)
class SlotOption:
    """A free slot offered for one dose, and whether it is inside that dose's window (outside
    needs a clinician's reason): a result for this dose, not an attribute on the slot."""

    slot: Slot
    in_window: bool
    # The day's load before this booking (why it is offered, in words), when known.
    load: LevelLoad | None = None
    # This dose's visit ended "not given" that day: listed only when the nurse looks there
    # herself, and never pre-selected (issue 19).
    failed_day: bool = False
    # The levelled suggestion (the first of the window's list).
    suggested: bool = False

    @property
    def pk(self) -> int:
        return self.slot.pk

    @property
    def reason(self) -> str:
        return self.load.reason if self.load is not None else ""

    @property
    def start(self):
        return self.slot.start

    @property
    def places(self) -> int:
        return self.slot.places

    @property
    def free_places(self) -> int:
        return self.slot.places - self.slot.booked_count


def _option(slot: Slot, planned: engine.PlannedDose, load=None, failed=frozenset()) -> SlotOption:
    return SlotOption(
        slot,
        planned.window_start <= slot.local_date <= planned.window_end,
        load,
        slot.local_date in failed,
    )


def book_choices(
    unit: Unit,
    planned: engine.PlannedDose,
    *,
    today: date,
    look_from: date | None = None,
    failed: frozenset | set = frozenset(),
) -> list[SlotOption]:
    """Free slots for a dose, each with its day's load in words: in its window from today,
    levelled best first (`planning.rank_offers`, issue 19) and never on a day this dose's
    visit ended "not given" (`failed`); or, when the nurse looks further, the four weeks from
    the date she picked, in time order. Each says whether it is in the window (outside
    needs a clinician's reason)."""
    if look_from is not None:
        first, last, limit = look_from, look_from + timedelta(days=LOOK_FURTHER_DAYS), 20
    else:
        first = max(planned.window_start, today)
        last, limit = max(planned.window_end, first), CHOICES_ON_BOOK_PAGE
    calendar = unit.calendar(first, last)
    free = FreeSlots(unit=unit, calendar=calendar, first=first, last=last)
    loads = level_loads(unit, first, last, calendar=calendar)
    if look_from is not None:
        return [
            _option(slot, planned, loads.get(slot.local_date), failed)
            for slot in free.first(first, last, limit=limit)
        ]
    offers = rank_offers(free, loads, first, last, avoid_days=failed)[:limit]
    options = [_option(offer.slot, planned, offer.load, failed) for offer in offers]
    if options:
        options[0] = replace(options[0], suggested=True)
    return options


def chosen_slot(
    value, unit: Unit, planned: engine.PlannedDose, failed=frozenset()
) -> SlotOption | None:
    """The free slot a posted form (or the query string) chose, or None."""
    try:
        pk = int(value or "")
    except (ValueError, OverflowError):
        return None
    if not 0 < pk < 2**31:
        return None
    slot = (
        Slot.objects.filter(unit=unit, pk=pk, start__gte=timezone.now()).with_booked_count().first()
    )
    if slot is None or slot.booked_count >= slot.places:
        return None
    slot.unit = unit
    return _option(slot, planned, failed=failed)


def book_next_options(unit: Unit, suggestions: list[Suggestion], *, today: date) -> list[dict]:
    """For "Book next doses": each suggestion with the free slots of the window the suggestion
    chain gives it, best first with their reasons (`Suggestion.options`), so the nurse can
    change one; changing one suggests the later doses again from it (issue 19)."""
    return [{"suggestion": s, "options": s.options} for s in suggestions]


# The book and reschedule page ------------------------------------------------------------------


def _dose_status(plan: plans.CoursePlan, planned: engine.PlannedDose, dose) -> dict:
    """Why a dose cannot be booked from this page: given, booked already, or not next."""
    active = dose.active_booking if dose else None
    if dose is not None and dose.given_at:
        return {"given": dose}
    if active is not None:
        return {"already": active}
    if planned.state not in plans.BOOKABLE_STATES:
        return {"book_first": plan.pending.number if plan.pending else None}
    return {}


def _later_booking(course: TreatmentCourse, number: int) -> Booking | None:
    """The first active booking of a later dose: this dose must come before it."""
    doses = sorted(course.doses.all(), key=lambda dose: dose.number)
    return next(
        (d.active_booking for d in doses if d.number > number and d.active_booking is not None),
        None,
    )


def _slot_options(
    unit, planned, *, today, look_from, failed, booking, chosen
) -> tuple[list[SlotOption], SlotOption | None]:
    """The slots to choose from, without the booking's own slot. A slot chosen on a worklist
    and refused (a clinician who must give a reason, a nurse past the window) stays on the
    page, chosen, so nothing has to be found again."""
    options = book_choices(unit, planned, today=today, look_from=look_from, failed=failed)
    if booking is not None:
        options = [option for option in options if option.pk != booking.slot_id]
        if chosen is not None and chosen.pk == booking.slot_id:
            chosen = None
    if chosen is not None and all(option.pk != chosen.pk for option in options):
        options = [chosen, *options]
    return options, chosen


def _reschedule_preview(course, booking, target: SlotOption | None, *, today) -> dict:
    """What the move will change, for the slot chosen (or the one the page checks first)."""
    preview, series = None, []
    if target is not None:
        change = previews.Reschedule(booking, target.slot)
        preview = previews.preview_change(course, change=change, today=today)
        if not preview.problem:
            # Issue 19 item 4: the later booked doses, moved with it in one click.
            series = previews.series_moves(course, change=change, today=today)
    return {
        "preview": preview,
        "preview_slot": target.slot if target else None,
        "series": series,
        "series_moves": [m for m in series if not m.stays],
        "series_whole": bool(series) and all(m.slot is not None for m in series),
    }


def booking_page(
    course: TreatmentCourse,
    number: int,
    *,
    unit: Unit,
    today: date,
    booking: Booking | None = None,
    look_from: date | None = None,
    chosen: str | None = None,
) -> dict:
    """What the book (or, with `booking`, reschedule) page shows for dose `number`: its due
    date and window from the engine (counted from the doses before it), why it cannot be
    booked if so, and the free slots to choose from (`chosen`: a slot id from the form or
    the query string)."""
    plan = plans.plan_for(course, today=today, unit=unit, before=number)
    planned = plan.dose(number)
    page = {"planned": planned, "problem": plan.problem, "blockers": [], "options": []}
    if planned is None or plan.problem:
        return page
    dose = next((d for d in course.doses.all() if d.number == number), None)
    if booking is None:
        page.update(_dose_status(plan, planned, dose))
    page["blockers"] = course.patient.treatment_blockers(on=max(planned.date, today))
    page["later"] = _later_booking(course, number)
    failed = failed_days(course).get(number, set())
    options, chosen_option = _slot_options(
        unit,
        planned,
        today=today,
        look_from=look_from,
        failed=failed,
        booking=booking,
        chosen=chosen_slot(chosen, unit, planned, failed),
    )
    page["options"] = options
    page["chosen_pk"] = chosen_option.pk if chosen_option is not None else None
    if booking is not None:
        target = chosen_option or next((o for o in options[:1] if o.in_window), None)
        page.update(_reschedule_preview(course, booking, target, today=today))
    return page
