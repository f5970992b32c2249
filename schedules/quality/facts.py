"""The facts the quality measures read (issue 21): one row a visit, a dose given, an adverse
event and a hold, read from the record in a fixed number of queries, with the NHS Data
Dictionary attendance code of each visit. Selectors only: reads, never writes. The measures
themselves are `schedules.quality.measures`."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Min, Q
from django.utils import timezone

from schedules import planning
from schedules.models import (
    AdverseEvent,
    Booking,
    CourseEvent,
    Dose,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
)
from schedules.plph import plph_advice

# The registry's grace either side of the due date (issue 21).
GRACE_DAYS = 7
# Visits that ended without the dose.
MISSED = (Booking.Status.NOT_GIVEN, Booking.Status.NOSHOW)
NOT_CANCELLED = (
    Booking.Status.BOOKED,
    Booking.Status.ARRIVED,
    Booking.Status.FULFILLED,
    Booking.Status.NOT_GIVEN,
    Booking.Status.NOSHOW,
)

# NHS Data Dictionary, ATTENDED OR DID NOT ATTEND.
ATTENDANCE_CODES = {
    "5": "Attended on time",
    "6": "Arrived late, but was seen",
    "7": "Arrived late and could not be seen",
    "2": "Cancelled by, or on behalf of, the patient",
    "3": "Did not attend, no advance warning",
    "4": "Cancelled or postponed by the health care provider",
    "0": "Not applicable: appointment in the future",
}
ATTENDED_CODES = ("5", "6")
NOT_RECORDED = ""


# Periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    def __str__(self):
        return f"{self.first.isoformat()} to {self.last.isoformat()}"

    @property
    def label(self) -> str:
        """ "Mar 2026" for a period inside one month (a month, or the part of it so far)."""
        if (self.first.year, self.first.month) == (self.last.year, self.last.month):
            return self.first.strftime("%b %Y")
        return str(self)

    def months(self) -> list[Period]:
        """The calendar months the period touches, each clipped to the period."""
        months, start = [], self.first
        while start <= self.last:
            following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
            months.append(Period(start, min(following - timedelta(days=1), self.last)))
            start = following
        return months


def default_period(today: date) -> Period:
    """The last twelve whole months and this month so far."""
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for _ in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, today)


# Rows read from the record ---------------------------------------------------------------------


@dataclass(frozen=True)
class DoseRow:
    """One dose given, with its timing from the engine (and its procedure facts)."""

    course_id: int
    patient_id: int
    hospital_number: str
    number: int
    phase: str
    due: date
    given: date
    previous_given: date | None
    window_start: date
    window_end: date
    imaging: str
    failed_attempts: int
    events: tuple[str, ...] = ()

    @property
    def timed(self) -> bool:
        """Has an interval: not the first dose of the course."""
        return self.previous_given is not None

    @property
    def planned_interval(self) -> int | None:
        return (self.due - self.previous_given).days if self.timed else None

    @property
    def actual_interval(self) -> int | None:
        return (self.given - self.previous_given).days if self.timed else None

    @property
    def days_from_due(self) -> int:
        return (self.given - self.due).days

    @property
    def within_window(self) -> bool:
        return self.window_start <= self.given <= self.window_end

    @property
    def within_grace(self) -> bool:
        return abs(self.days_from_due) <= GRACE_DAYS


@dataclass(frozen=True)
class VisitRow:
    """One booking in the period: what the attendance code and the notice are read from."""

    booking_id: int
    course_id: int
    patient_id: int
    hospital_number: str
    number: int
    day: date
    start: datetime
    status: str
    code: str
    arrived_at: datetime | None
    not_given_reason: str
    booked_on: date
    # The engine's due date of the dose, for visits that ended without it (else None).
    due: date | None = None

    @property
    def notice_days(self) -> int:
        return (self.day - self.booked_on).days


@dataclass(frozen=True)
class EventRow:
    course_id: int
    patient_id: int
    onset: date
    term: str
    serious: bool
    serious_neurological: bool
    blood_patch: bool


@dataclass(frozen=True)
class HoldRow:
    course_id: int
    on: date
    reason: str
    ended: date | None


@dataclass
class Facts:
    doses: list[DoseRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    holds: list[HoldRow] = field(default_factory=list)
    # (patient id, first day, last day) of each course's exposure to treatment.
    exposure: list[tuple[int, date, date]] = field(default_factory=list)
    # (local day, places) of each slot.
    slots: list[tuple[date, int]] = field(default_factory=list)
    # Courses whose recorded history contradicts itself: their doses cannot be timed.
    unplanned_courses: int = 0


# The attendance code -----------------------------------------------------------------------------


def attendance_code(
    *,
    status: str,
    start: datetime,
    arrived_at: datetime | None,
    checks_recorded: bool,
    cancelled_for_patient: bool,
    now: datetime,
) -> str:
    """The NHS Data Dictionary "attended or did not attend" code of one booking.

    - given, not given or arrived: **5** when the arrival was at or before the slot's start
      (or no arrival time was recorded); after it, **6** when the patient was seen (the dose
      given, or pre-dose checks recorded) and **7** when not (the visit ended not given with
      no checks recorded);
    - did not attend: **3**;
    - cancelled: **2** when cancelled by a decision recorded for the patient (a pause or stop
      for "patient choice", a consent withdrawal), else **4** (the unit cancelled or moved
      it). Free-text cancel reasons are not read: the record has no field saying who asked
      for a cancellation, so a cancellation the patient asked for by phone is coded 4;
    - booked: **0** when the slot is still ahead, else "" (not recorded yet: listed on
      Overdue & rebook until someone records what happened).
    """
    if status == Booking.Status.NOSHOW:
        return "3"
    if status == Booking.Status.CANCELLED:
        return "2" if cancelled_for_patient else "4"
    if status == Booking.Status.BOOKED:
        return "0" if start > now else NOT_RECORDED
    if arrived_at is None or arrived_at <= start:
        return "5"
    seen = status == Booking.Status.FULFILLED or checks_recorded
    return "6" if seen else "7"


# Reading the facts -------------------------------------------------------------------------------


def _local_bounds(unit: Unit, period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first, time.min, tzinfo=unit.zone)
    end = datetime.combine(period.last + timedelta(days=1), time.min, tzinfo=unit.zone)
    return start, end


PATIENT_CHOICE_DECISIONS = Q(
    kind__in=[CourseEvent.Kind.PAUSE, CourseEvent.Kind.STOP],
    reason=CourseEvent.Reason.PATIENT_CHOICE,
) | Q(kind=CourseEvent.Kind.HOLD, reason=CourseEvent.Reason.CONSENT_WITHDRAWN)


def load_facts(period: Period, *, unit: Unit, today: date) -> Facts:
    """Every fact the measures read for the period, in a fixed number of queries.

    1. The bookings whose slot is in the period, and the doses given in it.
    2. Their courses planned once by the engine (due dates and windows).
    3. One row a visit, a dose given and an adverse event; holds and exposure from the course
       decisions; the period's slots.
    """
    start, end = _local_bounds(unit, period)
    bookings = list(
        Booking.objects.filter(slot__unit=unit, slot__start__gte=start, slot__start__lt=end)
        .select_related("slot", "visit", "dose__course__patient")
        .order_by("slot__start", "pk")
    )
    given = _given_doses(start, end)
    courses = {dose.course_id: dose.course for dose in given}
    for booking in bookings:
        if booking.status in MISSED:
            courses.setdefault(booking.dose.course_id, booking.dose.course)
    plans = planning.plans_from_values(list(courses.values()), today=today, unit=unit)
    facts = Facts(
        visits=_visit_rows(bookings, plans, unit=unit),
        doses=_dose_rows(given, plans, start=start, end=end),
        events=_event_rows(period),
        unplanned_courses=sum(1 for plan in plans.values() if plan.problem),
        slots=[
            (timezone.localtime(slot_start, unit.zone).date(), places)
            for slot_start, places in Slot.objects.filter(
                unit=unit, start__gte=start, start__lt=end
            ).values_list("start", "places")
        ],
    )
    facts.holds, facts.exposure = _holds_and_exposure(period, unit=unit, today=today, end=end)
    return facts


def _given_doses(start: datetime, end: datetime) -> list[Dose]:
    return list(
        Dose.objects.filter(given_at__gte=start, given_at__lt=end)
        .select_related("course__patient")
        .only(
            "id",
            "number",
            "given_at",
            "imaging",
            "course__id",
            "course__status",
            "course__start_date",
            "course__patient__id",
            "course__patient__hospital_number",
        )
        .order_by("given_at", "pk")
    )


def _patient_choice_cancellations(bookings: list[Booking]):
    """A test of whether a cancelled booking was cancelled by the patient's choice."""
    cancelled_courses = {b.dose.course_id for b in bookings if b.status == "cancelled"}
    decisions = defaultdict(list)
    for event in CourseEvent.objects.filter(
        PATIENT_CHOICE_DECISIONS, course_id__in=cancelled_courses
    ).only("course_id", "on", "recorded_at"):
        decisions[event.course_id].append(event)

    def cancelled_for_patient(booking: Booking) -> bool:
        # The booking stood when the decision was recorded, was cancelled then or after, and
        # its day was on or after the decision's date: the decision cancelled it.
        return booking.status == "cancelled" and any(
            booking.booked_at <= event.recorded_at <= booking.updated_at
            and booking.local_date >= event.on
            for event in decisions[booking.dose.course_id]
        )

    return cancelled_for_patient


def _visit_rows(bookings: list[Booking], plans, *, unit: Unit) -> list[VisitRow]:
    now = timezone.now()
    cancelled_for_patient = _patient_choice_cancellations(bookings)

    def due_of(course_id: int, number: int) -> date | None:
        plan = plans.get(course_id)
        planned = plan.dose(number) if plan is not None and not plan.problem else None
        return planned.due if planned is not None else None

    rows = []
    for booking in bookings:
        visit = booking.visit_or_none
        patient = booking.dose.course.patient
        rows.append(
            VisitRow(
                booking_id=booking.pk,
                course_id=booking.dose.course_id,
                patient_id=patient.pk,
                hospital_number=patient.hospital_number,
                number=booking.dose.number,
                day=timezone.localtime(booking.slot.start, unit.zone).date(),
                start=booking.slot.start,
                status=booking.status,
                code=attendance_code(
                    status=booking.status,
                    start=booking.slot.start,
                    arrived_at=visit.arrived_at if visit else None,
                    checks_recorded=bool(visit and visit.checks_at),
                    cancelled_for_patient=cancelled_for_patient(booking),
                    now=now,
                ),
                arrived_at=visit.arrived_at if visit else None,
                not_given_reason=visit.not_given_reason if visit else "",
                booked_on=timezone.localtime(booking.booked_at, unit.zone).date(),
                due=due_of(booking.dose.course_id, booking.dose.number)
                if booking.status in MISSED
                else None,
            )
        )
    return rows


def _dose_rows(given: list[Dose], plans, *, start: datetime, end: datetime) -> list[DoseRow]:
    """Doses given in the period, timed by the engine."""
    # Joined on the period, not a list of ids: a year of a large unit is tens of thousands.
    failed = Counter(
        Booking.objects.filter(
            dose__given_at__gte=start,
            dose__given_at__lt=end,
            status=Booking.Status.NOT_GIVEN,
            visit__not_given_reason=Visit.NotGivenReason.LP_UNSUCCESSFUL,
        ).values_list("dose_id", flat=True)
    )
    linked = defaultdict(list)
    for dose_id, term, detail in (
        AdverseEvent.objects.filter(dose__given_at__gte=start, dose__given_at__lt=end)
        .order_by("onset", "pk")
        .values_list("dose_id", "term", "term_detail")
    ):
        linked[dose_id].append(detail if term == AdverseEvent.Term.OTHER else _term(term))
    rows = []
    for dose in given:
        plan = plans[dose.course_id]
        if plan.problem:
            continue
        planned = plan.dose(dose.number)
        previous = plan.dose(dose.number - 1)
        rows.append(
            DoseRow(
                course_id=dose.course_id,
                patient_id=dose.course.patient.pk,
                hospital_number=dose.course.patient.hospital_number,
                number=dose.number,
                phase=str(planned.phase),
                due=planned.due,
                given=planned.date,
                previous_given=previous.date if previous else None,
                window_start=planned.window_start,
                window_end=planned.window_end,
                imaging=dose.imaging,
                failed_attempts=failed[dose.pk],
                events=tuple(linked[dose.pk]),
            )
        )
    return rows


def _event_rows(period: Period) -> list[EventRow]:
    """Adverse events with onset in the period."""
    rows = []
    for event in AdverseEvent.objects.filter(
        onset__gte=period.first, onset__lte=period.last
    ).select_related("course"):
        rows.append(
            EventRow(
                course_id=event.course_id,
                patient_id=event.course.patient_id,
                onset=event.onset,
                term=event.term,
                serious=event.needs_review,
                serious_neurological=event.term in AdverseEvent.SERIOUS_NEUROLOGICAL,
                blood_patch=event.term == AdverseEvent.Term.PLPH
                and bool(event.triage)
                and plph_advice(event.triage).step == "blood_patch",
            )
        )
    return rows


def _holds_and_exposure(period: Period, *, unit: Unit, today: date, end: datetime):
    """Holds raised in the period with when they ended, and each course's days of exposure,
    from every course decision up to the period's end, in the model's order."""
    holds, exposure = [], []
    decisions_by_course = defaultdict(list)
    for event in CourseEvent.objects.filter(on__lte=max(period.last, today)).only(
        "course_id", "kind", "on", "reason"
    ):
        decisions_by_course[event.course_id].append(event)
    for course_id, events in decisions_by_course.items():
        for index, event in enumerate(events):
            if event.kind != CourseEvent.Kind.HOLD or event.on not in period:
                continue
            ended = next((later.on for later in events[index + 1 :]), None)
            holds.append(HoldRow(course_id, event.on, event.reason, ended))
    exposed = (
        TreatmentCourse.objects.filter(doses__given_at__lt=end)
        .annotate(first_given=Min("doses__given_at"))
        .values_list("pk", "patient_id", "first_given")
    )
    for course_id, patient_id, first_given in exposed:
        stop = next(
            (e.on for e in decisions_by_course[course_id] if e.kind == CourseEvent.Kind.STOP),
            None,
        )
        first = max(timezone.localtime(first_given, unit.zone).date(), period.first)
        last = min(stop or period.last, period.last, today)
        if first <= last:
            exposure.append((patient_id, first, last))
    return holds, exposure


def _term(term: str) -> str:
    return str(AdverseEvent.Term(term).label)
