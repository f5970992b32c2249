"""How well the service runs: the quality measures of issue 21, read from the record.

Selectors only: this module reads and never writes. The page, the `quality_report` command and
the exports all ask `quality_report()` (or the row builders below), so they print the same
numbers. Dose timing comes from the engine through `schedules.planning` (a given dose's due
date is the engine's: the previous dose's actual date plus 14 or 28 days, later after a
resume), never from arithmetic of our own.

What each measure counts (a period is inclusive, in the unit's local days):

1. **Intervals** — every dose *given* in the period except a course's first (it has no
   interval), split by the engine's phase (loading, maintenance). Actual interval = days since
   the previous dose was given; planned = days from that dose to this one's due date; the
   difference is days from due (positive = late). "Within the unit's window" = given between
   the window's first and last day (unit policy: `book_early_days`, `flag_late_days`);
   "within ±7 days" = |days from due| ≤ 7 (the registry's grace, issue 21). Median and IQR use
   the inclusive quartile method (`statistics.quantiles(method="inclusive")`, as a
   spreadsheet's QUARTILE.INC).
2. **Patients with every dose on time** — patients with at least one timed dose in the period
   whose every timed dose was within the unit's window.
3. **Attendance** — every booking whose slot is in the period, coded with the NHS Data
   Dictionary "attended or did not attend" codes (`attendance_code`, which documents the
   mapping).
4. **Lumbar puncture** — attempts are doses given plus visits ended "not given: lumbar puncture
   unsuccessful"; success = given / attempts. First attempt = doses given with no earlier
   unsuccessful attempt for the same dose; after retry = given after one or more. Not given by
   reason counts every visit ended not given. Image-guided = doses given under X-ray or CT.
5. **PLPH** — PLPH events with onset in the period per dose given in the period; blood-patch
   referrals are PLPH events whose triage answers reach the "blood patch" step of the PLPH
   pathway (`plph_advice`). Whether a patch was then done is not recorded.
6. **Serious events** — events with onset in the period that need a clinician's review
   (marked serious, or a serious neurological term, US PI §5 / EU SmPC 4.4), per patient-year
   of exposure: each course from its first dose given to its stop date (or the period's end,
   or today), clipped to the period. Patients with a serious *neurological* event, as a share
   of the patients exposed in the period (the trial's ~7%).
7. **Holds** — holds for clinical review raised in the period; a hold ends at the course's
   next decision (continue, pause, stop); duration in days; open holds counted apart.
8. **Notice** — days from booking to the visit's day, for bookings in the period that were
   not cancelled.
9. **Utilisation** — bookings not cancelled (booked, arrived, given, not given, did not
   attend: each held a place on the day) over the places of the period's slots.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Min, Q
from django.utils import timezone

from schedules import engine, planning
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

# Published reference figures (issue 21). Each is shown as a reference line where it applies.
# Sources:
# - 92% of adult nusinersen doses given on time, nine US centres (67% of patients with every
#   dose on time): multicentre US adult nusinersen adherence study, cited in issue 21.
# - 96.8–100% lumbar-puncture success with triage or image guidance: adult nusinersen
#   intrathecal delivery series, cited in issue 21.
# - 2.2% of injections with a post-lumbar-puncture headache needing treatment: as above.
# - ~7% of tofersen trial patients with a serious neurological event: 10 of 147 participants
#   on 100 mg (DESIGN §2 adverse events; US PI §5, §6).
REFERENCE_DOSES_ON_TIME = 92.0
REFERENCE_PATIENTS_ALL_ON_TIME = 67.0
REFERENCE_LP_SUCCESS = (96.8, 100.0)
REFERENCE_PLPH_TREATED = 2.2
REFERENCE_SERIOUS_NEUROLOGICAL = 6.8  # 10 / 147 = 6.8%

GRACE_DAYS = 7
DAYS_PER_YEAR = 365.25
IMAGE_GUIDED = (Dose.Imaging.XRAY, Dose.Imaging.CT)
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


# Small results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    count: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.count / self.total, 1) if self.total else None

    def __str__(self):
        if not self.total:
            return "—"
        return f"{self.percent:g}% ({self.count} of {self.total})"

    def as_dict(self) -> dict:
        return {"count": self.count, "total": self.total, "percent": self.percent}


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None
    q1: float | None
    q3: float | None

    @classmethod
    def of(cls, values) -> Spread:
        values = sorted(values)
        if not values:
            return cls(0, None, None, None)
        if len(values) == 1:
            return cls(1, values[0], values[0], values[0])
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(len(values), statistics.median(values), q1, q3)

    def __str__(self):
        if not self.count:
            return "—"
        return f"{self.median:g} (IQR {self.q1:g}–{self.q3:g})"

    def as_dict(self) -> dict:
        return {"count": self.count, "median": self.median, "q1": self.q1, "q3": self.q3}


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


# The measures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intervals:
    doses: int
    actual: Spread
    planned: Spread
    from_due: Spread
    within_window: Share
    within_grace: Share

    def as_dict(self) -> dict:
        return {
            "doses": self.doses,
            "actual_interval_days": self.actual.as_dict(),
            "planned_interval_days": self.planned.as_dict(),
            "days_from_due": self.from_due.as_dict(),
            "within_window": self.within_window.as_dict(),
            "within_7_days": self.within_grace.as_dict(),
        }


def intervals(rows: list[DoseRow]) -> Intervals:
    timed = [row for row in rows if row.timed]
    return Intervals(
        doses=len(timed),
        actual=Spread.of(row.actual_interval for row in timed),
        planned=Spread.of(row.planned_interval for row in timed),
        from_due=Spread.of(row.days_from_due for row in timed),
        within_window=Share(sum(row.within_window for row in timed), len(timed)),
        within_grace=Share(sum(row.within_grace for row in timed), len(timed)),
    )


@dataclass(frozen=True)
class LumbarPuncture:
    attempts: int
    success: Share
    first_attempt: Share
    after_retry: Share
    not_given: dict[str, int]
    image_guided: Share

    def as_dict(self) -> dict:
        return {
            "attempts": self.attempts,
            "success": self.success.as_dict(),
            "first_attempt": self.first_attempt.as_dict(),
            "after_retry": self.after_retry.as_dict(),
            "not_given_by_reason": self.not_given,
            "image_guided": self.image_guided.as_dict(),
        }


@dataclass(frozen=True)
class Summary:
    """Every measure for one period."""

    period: Period
    doses_given: int
    loading: Intervals
    maintenance: Intervals
    patients_all_on_time: Share
    attendance: dict[str, int]
    lumbar_puncture: LumbarPuncture
    plph: Share
    blood_patch_referrals: Share
    serious_events: int
    patient_years: float
    serious_per_patient_year: float | None
    serious_neurological_patients: Share
    holds_raised: int
    holds_ended: int
    holds_open: int
    hold_days: Spread
    notice_days: Spread
    notice_under_7_days: Share
    utilisation: Share

    @property
    def doses_on_time(self) -> Share:
        """Loading and maintenance together, within the unit's window."""
        return Share(
            self.loading.within_window.count + self.maintenance.within_window.count,
            self.loading.doses + self.maintenance.doses,
        )

    @property
    def attendance_rows(self) -> list[tuple[str, str, int]]:
        return [
            (code, label, self.attendance.get(code, 0)) for code, label in ATTENDANCE_CODES.items()
        ] + [("", "Not recorded yet", self.attendance.get(NOT_RECORDED, 0))]

    def as_dict(self) -> dict:
        return {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "doses_given": self.doses_given,
            "doses_on_time": self.doses_on_time.as_dict(),
            "loading": self.loading.as_dict(),
            "maintenance": self.maintenance.as_dict(),
            "patients_all_doses_on_time": self.patients_all_on_time.as_dict(),
            "attendance": {
                (code or "not_recorded"): count for code, _, count in self.attendance_rows
            },
            "lumbar_puncture": self.lumbar_puncture.as_dict(),
            "plph_per_injection": self.plph.as_dict(),
            "blood_patch_referrals_per_injection": self.blood_patch_referrals.as_dict(),
            "serious_events": self.serious_events,
            "patient_years": self.patient_years,
            "serious_events_per_patient_year": self.serious_per_patient_year,
            "patients_with_serious_neurological_event": (
                self.serious_neurological_patients.as_dict()
            ),
            "holds": {
                "raised": self.holds_raised,
                "ended": self.holds_ended,
                "open": self.holds_open,
                "days": self.hold_days.as_dict(),
            },
            "notice_days": self.notice_days.as_dict(),
            "notice_under_7_days": self.notice_under_7_days.as_dict(),
            "utilisation": self.utilisation.as_dict(),
        }


def summarise(facts: Facts, period: Period) -> Summary:
    """The measures for `period` from facts loaded for it or for a longer period."""
    doses = [row for row in facts.doses if row.given in period]
    visits = [row for row in facts.visits if row.day in period]
    events = [row for row in facts.events if row.onset in period]
    holds = [row for row in facts.holds if row.on in period]

    by_patient = defaultdict(list)
    for row in doses:
        if row.timed:
            by_patient[row.patient_id].append(row.within_window)
    patients_on_time = Share(sum(all(v) for v in by_patient.values()), len(by_patient))

    unsuccessful = sum(
        1
        for row in visits
        if row.status == Booking.Status.NOT_GIVEN
        and row.not_given_reason == Visit.NotGivenReason.LP_UNSUCCESSFUL
    )
    not_given = Counter(
        str(Visit.NotGivenReason(row.not_given_reason).label)
        for row in visits
        if row.status == Booking.Status.NOT_GIVEN and row.not_given_reason
    )
    given = len(doses)
    lumbar = LumbarPuncture(
        attempts=given + unsuccessful,
        success=Share(given, given + unsuccessful),
        first_attempt=Share(sum(row.failed_attempts == 0 for row in doses), given),
        after_retry=Share(sum(row.failed_attempts > 0 for row in doses), given),
        not_given=dict(sorted(not_given.items())),
        image_guided=Share(sum(row.imaging in IMAGE_GUIDED for row in doses), given),
    )

    exposure_days = 0
    exposed_patients = set()
    for patient_id, first, last in facts.exposure:
        first, last = max(first, period.first), min(last, period.last)
        if first <= last:
            exposure_days += (last - first).days + 1
            exposed_patients.add(patient_id)
    patient_years = round(exposure_days / DAYS_PER_YEAR, 2)
    serious = sum(row.serious for row in events)
    neuro_patients = {row.patient_id for row in events if row.serious_neurological}

    ended = [row for row in holds if row.ended is not None]
    places = sum(places for day, places in facts.slots if day in period)
    held = sum(1 for row in visits if row.status in NOT_CANCELLED)
    standing = [row for row in visits if row.status in NOT_CANCELLED]
    plph = sum(row.term == AdverseEvent.Term.PLPH for row in events)
    return Summary(
        period=period,
        doses_given=given,
        loading=intervals([row for row in doses if row.phase == engine.Phase.LOADING]),
        maintenance=intervals([row for row in doses if row.phase == engine.Phase.MAINTENANCE]),
        patients_all_on_time=patients_on_time,
        attendance=dict(Counter(row.code for row in visits)),
        lumbar_puncture=lumbar,
        plph=Share(plph, given),
        blood_patch_referrals=Share(sum(row.blood_patch for row in events), given),
        serious_events=serious,
        patient_years=patient_years,
        serious_per_patient_year=(
            round(serious * DAYS_PER_YEAR / exposure_days, 2) if exposure_days else None
        ),
        # A late event can be recorded after a course stopped: its patient still counts.
        serious_neurological_patients=Share(
            len(neuro_patients), len(exposed_patients | neuro_patients)
        ),
        holds_raised=len(holds),
        holds_ended=len(ended),
        holds_open=len(holds) - len(ended),
        hold_days=Spread.of((row.ended - row.on).days for row in ended),
        notice_days=Spread.of(row.notice_days for row in standing),
        notice_under_7_days=Share(sum(row.notice_days < 7 for row in standing), len(standing)),
        utilisation=Share(held, places),
    )


@dataclass(frozen=True)
class QualityReport:
    period: Period
    today: date
    total: Summary
    months: list[Summary]
    unplanned_courses: int

    def as_dict(self) -> dict:
        return {
            "period": self.total.as_dict(),
            "months": [month.as_dict() for month in self.months],
            "courses_not_timed": self.unplanned_courses,
            "references": {
                "doses_on_time_percent": REFERENCE_DOSES_ON_TIME,
                "patients_all_doses_on_time_percent": REFERENCE_PATIENTS_ALL_ON_TIME,
                "lumbar_puncture_success_percent": list(REFERENCE_LP_SUCCESS),
                "plph_needing_treatment_percent": REFERENCE_PLPH_TREATED,
                "serious_neurological_patients_percent": REFERENCE_SERIOUS_NEUROLOGICAL,
            },
        }


def quality_report(period: Period, *, today: date | None = None, unit: Unit | None = None):
    """Every measure for the period and for each of its months."""
    today = today or timezone.localdate()
    unit = unit or Unit.current()
    facts = load_facts(period, unit=unit, today=today)
    return QualityReport(
        period=period,
        today=today,
        total=summarise(facts, period),
        months=[summarise(facts, month) for month in period.months()],
        unplanned_courses=facts.unplanned_courses,
    )


MAX_PERIOD_DAYS = 5 * 366


def check_period(first: date, last: date) -> Period:
    """The period a person asked for, or ValueError with one sentence saying what is wrong
    (the page and the command refuse the same things)."""
    if first > last:
        raise ValueError("The start of the period must be on or before its end.")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise ValueError("Choose a period of five years or less.")
    return Period(first, last)
