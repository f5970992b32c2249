"""The clinical rules that belong to the patient, stated once (DESIGN §2 "Rules belong to the
patient, not to one course or one form"; issue 17 §1 and §4).

Each rule is a check over the patient's whole record, every course included, stopped ones
too. The write services call them under their course locks (`schedules.locks`: the patient's
courses by id, or the course being written, whose patient has no other open course), so the
record they read cannot change before the write commits. This module reads and refuses; it
never writes.

1. The minimum interval (`check_interval`): 14 days between any two doses of the patient,
   across courses. 14 days is the shortest interval of the label (loading doses 2 and 3, US PI
   §2.1, EU SmPC 4.2); the labels give no shorter one. Within one course the engine's window
   keeps the doses apart; this rule is about a dose of a new course after one given on an
   earlier course. Sooner only by a clinician with a recorded reason, kept on the booking and
   on the dose when it is given.
2. An open serious event holds the patient's open treatment (`open_serious_event`,
   `check_no_open_serious_event`): a serious event (or a serious neurological one, US PI §5,
   EU SmPC 4.4) recorded on any of the patient's courses, with no clinician's decision
   (resume, pause or stop of a course) recorded after it.
3. A consent withdrawal stands until a consent signed after it: `Patient.active_consent`
   (patients, which cannot import this module) reads the patient's consents that way, and
   `treatment_blockers` with it.
4. Nothing is recorded inside a hold or a pause (`check_not_inside_hold`), and a decision
   cannot be dated before a dose given after it (`check_no_dose_given_after`).
5. A review's "continue" releases the hold, never a pause that was in force when the course
   was held (`pause_in_force`): the pause needs its own resume, with its preview and its
   restart-loading choice (issue 17 §4: a pause for a spinal change making lumbar puncture
   unsafe must not become an active course by a review of something else).
"""

from datetime import date, timedelta

from django.utils import timezone

from schedules.errors import AdministrationError, CourseError, CourseNotActive, OutsideWindow
from schedules.models import AdverseEvent, CourseEvent, Dose, TreatmentCourse
from tofersen_scheduler.dates import format_day

# US PI §2.1, EU SmPC 4.2: loading doses 14 days apart, maintenance every 28: the shortest.
MINIMUM_INTERVAL = timedelta(days=14)
OVERRIDE_PERMISSION = "schedules.override_booking_window"
# The decisions that answer a serious event (a HOLD is not one: it is the question).
DECISIONS = (CourseEvent.Kind.RESUME, CourseEvent.Kind.PAUSE, CourseEvent.Kind.STOP)
# Events that open a period with nothing given; any other event closes it.
HOLDING = (CourseEvent.Kind.PAUSE, CourseEvent.Kind.HOLD)


# 1. The minimum interval -------------------------------------------------------------------------


def nearest_dose_on_other_courses(course: TreatmentCourse, on: date) -> Dose | None:
    """The dose given on another of the patient's courses nearest to `on`, or None."""
    doses = (
        Dose.objects.filter(course__patient_id=course.patient_id, given_at__isnull=False)
        .exclude(course_id=course.pk)
        .select_related("course")
    )
    return min(
        doses, key=lambda dose: abs((timezone.localdate(dose.given_at) - on).days), default=None
    )


def check_interval(
    *, course: TreatmentCourse, on: date, by, override_reason: str, error=OutsideWindow
) -> str:
    """A dose of `course` on `on` at least 14 days from every dose the patient was given on
    another course, or booked / recorded by a clinician with a reason. Returns the reason to
    keep ("" when the interval is kept); raises `error` otherwise."""
    nearest = nearest_dose_on_other_courses(course, on)
    if nearest is None:
        return ""
    given_on = timezone.localdate(nearest.given_at)
    if abs(on - given_on) >= MINIMUM_INTERVAL:
        return ""
    told = (
        f"Dose {nearest.number} of the patient's course from "
        f"{format_day(nearest.course.start_date)} was given on {format_day(given_on)}: doses "
        "are at least 14 days apart, across courses."
    )
    if by is None or not by.has_perm(OVERRIDE_PERMISSION):
        raise error(f"{told} A clinician must decide, with a reason.")
    if not override_reason.strip():
        raise error(f"{told} Give the clinician's reason for a dose sooner.")
    return override_reason.strip()


# 2. An open serious event holds the patient's treatment ----------------------------------------


def open_serious_event(patient_id: int) -> AdverseEvent | None:
    """The patient's earliest serious event (on any course) with no clinician's decision
    recorded after it, or None."""
    decided = (
        CourseEvent.objects.filter(course__patient_id=patient_id, kind__in=DECISIONS)
        .order_by("-recorded_at")
        .values_list("recorded_at", flat=True)
        .first()
    )
    events = AdverseEvent.objects.filter(course__patient_id=patient_id).order_by("recorded_at")
    if decided is not None:
        events = events.filter(recorded_at__gt=decided)
    return next((event for event in events.select_related("course") if event.needs_review), None)


def courses_to_hold(event: AdverseEvent, courses) -> list[TreatmentCourse]:
    """The courses a serious `event` puts on hold: every open course of the patient not held
    already, whichever of the patient's courses `event` is recorded on (a late event on a
    stopped course holds the open one)."""
    if not event.needs_review:
        return []
    done = (TreatmentCourse.Status.STOPPED, TreatmentCourse.Status.HELD)
    return [course for course in courses if course.status not in done]


def serious_event_message(event: AdverseEvent) -> str:
    return (
        f"Treatment is on hold for clinical review: {event.label} from "
        f"{format_day(event.onset)} (course from {format_day(event.course.start_date)}) has "
        "no clinician's review decision yet."
    )


def check_no_open_serious_event(course: TreatmentCourse, error=CourseNotActive) -> None:
    event = open_serious_event(course.patient_id)
    if event is not None:
        raise error(serious_event_message(event))


# 4. Nothing inside a hold or a pause; no decision before a dose given after it ---------------


def hold_periods(course: TreatmentCourse) -> list[tuple[date, date | None]]:
    """(from, to) of each pause or hold of the course, `to` None while it lasts."""
    periods, opened = [], None
    for event in course.events.order_by("on", "recorded_at", "pk"):
        if event.kind in HOLDING:
            opened = opened or event.on
        elif opened is not None:
            periods.append((opened, event.on))
            opened = None
    if opened is not None:
        periods.append((opened, None))
    return periods


def check_not_inside_hold(course: TreatmentCourse, given_on: date) -> None:
    """A dose is not given on a day strictly inside a pause or a hold of its course (the day
    it began may hold a dose given before it; the day it ended, one given after)."""
    for start, end in hold_periods(course):
        if start < given_on and (end is None or given_on < end):
            until = f" to {format_day(end)}" if end else ""
            raise AdministrationError(
                f"Treatment was paused or on hold from {format_day(start)}{until}: a dose "
                f"cannot be recorded as given on {format_day(given_on)}, inside it."
            )


def check_no_dose_given_after(course: TreatmentCourse, on: date) -> None:
    """A pause, stop, hold or review dated `on` cannot predate a dose of the course given
    after that day: the record would say the dose was given while paused or stopped."""
    later = (
        course.doses.filter(given_at__isnull=False)
        .order_by("-given_at")
        .values_list("number", "given_at")
        .first()
    )
    if later is not None and timezone.localdate(later[1]) > on:
        raise CourseError(
            f"Dose {later[0]} was given on {format_day(timezone.localdate(later[1]))}, after "
            f"{format_day(on)}: date the decision on or after the last dose given."
        )


# 5. "Continue" never lifts a pause ------------------------------------------------------------


def pause_in_force(course: TreatmentCourse) -> CourseEvent | None:
    """The pause still standing under the course's hold (a PAUSE with no RESUME or STOP
    after it), or None."""
    standing = None
    for event in course.events.order_by("on", "recorded_at", "pk"):
        if event.kind == CourseEvent.Kind.PAUSE:
            standing = event
        elif event.kind in (CourseEvent.Kind.RESUME, CourseEvent.Kind.STOP):
            standing = None
    return standing


# What each write asks -------------------------------------------------------------------------


def check_booking(*, course: TreatmentCourse, on: date, booked_by, override_reason: str) -> None:
    """`book_dose`, under the course lock: no open serious event on any of the patient's
    courses (rule 2), and the interval across courses (rule 1)."""
    check_no_open_serious_event(course)
    check_interval(course=course, on=on, by=booked_by, override_reason=override_reason)


def check_dose_given(
    *, course: TreatmentCourse, given_on: date, recorded_by, override_reason: str
) -> str:
    """`record_administration`, under the course lock: no open serious event (rule 2), not
    inside a pause or a hold (rule 4), the interval across courses (rule 1). Returns the
    clinician's reason to keep on the dose when the interval needed one."""
    check_no_open_serious_event(course)
    check_not_inside_hold(course, given_on)
    return check_interval(
        course=course,
        on=given_on,
        by=recorded_by,
        override_reason=override_reason,
        error=AdministrationError,
    )
