"""Writes that touch several rows. Each is keyword-only, atomic, validates, and raises a
`ServiceError` subclass whose message a nurse can read.

The lock order (issue 11). Every write that touches several rows takes its row locks in this
one order, so two writes can wait for each other but never in a circle (a deadlock):

1. the course, or courses by id (`_lock_course`, `_lock_courses`): everything that happens to
   one patient's schedule, one at a time (same-day rule, the dose chain, consent);
2. the slot(s), by id (`_lock_slots`): the capacity count of each slot;
3. the booking(s) (`_lock_booking`, `_lock_bookings`);
4. the dose.

Never the unit row: it is shared by every write, so locking it would queue the whole diary
behind one click, and it was the row the deadlocks of issue 11 met on. Two runs of
`generate_slots` are kept apart by a transaction-level advisory lock instead. Every
`select_for_update` names what it locks with `of=("self",)` (a `select_related` table is read,
not locked) and, except where a slot may be deleted, takes `FOR NO KEY UPDATE`, which lets a
new booking or dose reference the locked row (its foreign key check takes `FOR KEY SHARE`).
A service may lock a row it already holds again (a nested service call); it may not go back
up the list. Rows that only one service ever locks (a consent) may come after the course.

What still meets a deadlock or a serialization failure is retried by `retry_when_busy` and
then refused with `DiaryBusy` (`schedules/retry.py`). With SQLite the IMMEDIATE transaction
mode serialises writers instead (see settings), and these locks are no-ops.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from patients.models import Patient
from schedules import engine, outlook, planning
from schedules.models import (
    AdverseEvent,
    Booking,
    ClinicianRequest,
    CourseEvent,
    Dose,
    FollowUpCall,
    Slot,
    TreatmentCourse,
    Unit,
    UnitCalendar,
    Visit,
)
from schedules.retry import retry_when_busy
from tofersen_scheduler.dates import format_day


class ServiceError(Exception):
    """A refused action; str(error) is the message shown to the nurse."""


class DiaryBusy(ServiceError):
    """The write met a deadlock or serialization failure and still did after its retries
    (`schedules.retry`). Nothing was saved; trying again a moment later works."""

    MESSAGE = "The unit's diary was busy, please try again."


class CourseError(ServiceError):
    pass


class BookingError(ServiceError):
    pass


class SlotFull(BookingError):
    pass


class AlreadyBooked(BookingError):
    def __init__(self, message: str, booking: Booking):
        super().__init__(message)
        self.booking = booking


class OutsideWindow(BookingError):
    pass


class CourseNotActive(BookingError):
    pass


class NotEligible(BookingError):
    pass


class SlotUnavailable(BookingError):
    """The slot is in the past or the unit is closed that day."""


class SameDayBooking(BookingError):
    pass


class DoseOutOfOrder(BookingError):
    pass


class BookingStateError(BookingError):
    pass


class PreviewChanged(ServiceError):
    """What the change will do is no longer what the user was shown and confirmed (someone
    changed the patient's schedule meanwhile). Nothing was changed: the page shows the new
    preview and asks again (hazard H30)."""

    MESSAGE = "This is what your choice changes now. Check it, then confirm again."


def _check_preview(course: TreatmentCourse, change, previewed: str | None) -> None:
    """Hazard H30, under the course lock (lock order step 1), so no other write can change
    what the change will do between this check and the change itself: the preview is worked
    out again from the facts as they are now and must be the one the user confirmed (its
    fingerprint, which the page posted back). `previewed=None` is a caller that shows no
    preview (a test, a command); a page always passes what was posted, "" when nothing was."""
    if previewed is None:
        return
    if not planning.preview_confirmed(planning.preview_change(course, change=change), previewed):
        raise PreviewChanged(PreviewChanged.MESSAGE)


GENERATE_SLOTS_LOCK = 1100  # advisory lock class for `generate_slots`, keyed by unit id


def _locking(queryset, *, no_key: bool = True):
    return queryset.select_for_update(of=("self",), no_key=no_key)


class AdministrationError(BookingError):
    """The dose record is incomplete, early, out of order or in the future."""


class VisitError(ServiceError):
    """A visit step refused: checks incomplete, wrong stage, bad time."""


class AdverseEventError(ServiceError):
    pass


def _lock_course(course: TreatmentCourse) -> TreatmentCourse:
    """Lock order step 1: the course row (not its patient), returned fresh with its patient."""
    return _locking(TreatmentCourse.objects.select_related("patient")).get(pk=course.pk)


def _lock_courses(ids) -> list[TreatmentCourse]:
    """Lock order step 1 for several courses: by id."""
    return list(_locking(TreatmentCourse.objects.filter(pk__in=ids)).order_by("pk"))


def _lock_slots(ids, *, for_delete: bool = False) -> dict[int, Slot]:
    """Lock order step 2: the slots, by id, in one statement (PostgreSQL locks the rows in the
    order it returns them). Returns them fresh by id, with unit and template.

    A slot deleted meanwhile (slots regenerated) is refused as no longer offered."""
    ids = sorted(set(ids))
    slots = {
        slot.pk: slot
        for slot in _locking(
            Slot.objects.select_related("unit", "template").filter(pk__in=ids),
            no_key=not for_delete,
        ).order_by("pk")
    }
    if len(slots) != len(ids):
        raise SlotUnavailable("That slot is no longer offered; choose another slot.")
    return slots


def _lock_bookings(ids) -> list[Booking]:
    """Lock order step 3 for several bookings (their course and slots already locked)."""
    return list(
        _locking(Booking.objects.select_related("dose", "slot__unit").filter(pk__in=ids)).order_by(
            "pk"
        )
    )


def _bump_calendar_sequence(dose: Dose) -> None:
    """iCalendar SEQUENCE goes up whenever the appointment's time or status changes
    (RFC 5545 §3.8.7.4). Saved through the model, so the change leaves a history row; callers
    hold the course lock, so the read-increment-write cannot race."""
    fresh = Dose.objects.get(pk=dose.pk)
    fresh.calendar_sequence += 1
    fresh.save(update_fields=["calendar_sequence", "updated_at"])
    dose.calendar_sequence = fresh.calendar_sequence


# Courses ---------------------------------------------------------------------------------------


# Course starts: the drug's first trials began in 2016; a start before 2000 is a typo. Older
# starts stay allowed (patients transfer in with doses given elsewhere). A start more than a
# year ahead is a typo too (a year typed 2062): nobody books a first dose that far out.
EARLIEST_COURSE_START = date(2000, 1, 1)
COURSE_START_AHEAD_DAYS = 365


def _check_start_date(start_date: date) -> None:
    today = timezone.localdate()
    if start_date < EARLIEST_COURSE_START:
        raise CourseError(
            f"{format_day(start_date)} is before {EARLIEST_COURSE_START:%Y}: check the year."
        )
    if (start_date - today).days > COURSE_START_AHEAD_DAYS:
        raise CourseError(
            f"{format_day(start_date)} is more than a year ahead: check the year. A course can "
            "start at most a year from today."
        )


@retry_when_busy
@transaction.atomic
def start_course(*, patient: Patient, start_date: date, started_by) -> TreatmentCourse:
    """Start a treatment course with dose 1 due on `start_date` (day 0).

    Refused unless the SOD1 mutation is confirmed and both consents are on file and not
    withdrawn (DESIGN §2 eligibility gate; US PI §1, EU SmPC 4.1).
    """
    patient = _locking(Patient.objects.prefetch_related("consents")).get(pk=patient.pk)
    _check_start_date(start_date)
    blockers = patient.treatment_blockers(on=start_date)
    if blockers:
        raise CourseError("Cannot start treatment: " + " ".join(blockers))
    if (
        TreatmentCourse.objects.filter(patient=patient)
        .exclude(status=TreatmentCourse.Status.STOPPED)
        .exists()
    ):
        raise CourseError("This patient already has a treatment course.")
    try:
        with transaction.atomic():
            course = TreatmentCourse.objects.create(
                patient=patient, start_date=start_date, started_by=started_by
            )
    except IntegrityError:
        raise CourseError("This patient already has a treatment course.") from None
    outlook.refresh_next_due(course)
    return course


def _cancel_future_bookings(course: TreatmentCourse, reason: str) -> int:
    """Under the course lock (so the course's bookings cannot change): lock their slots, then
    the bookings, and cancel them."""
    # The same query the pause and stop previews list (planning.preview_change).
    future = list(planning.future_bookings(course).values_list("pk", "slot_id"))
    _lock_slots(slot_id for _, slot_id in future)
    bookings = _lock_bookings(pk for pk, _ in future)
    for booking in bookings:
        booking.status = Booking.Status.CANCELLED
        booking.cancel_reason = reason
        booking.save(update_fields=["status", "cancel_reason", "updated_at"])
        _bump_calendar_sequence(booking.dose)
    return len(bookings)


def bookings_cancelled_by_withdrawal(patient) -> list[Booking]:
    """The future bookings a consent withdrawal would cancel (for the confirmation page)."""
    return list(
        Booking.objects.active()
        .filter(dose__course__patient=patient, slot__start__gte=timezone.now())
        .exclude(dose__course__status=TreatmentCourse.Status.STOPPED)
        .select_related("dose", "slot__unit")
        .order_by("slot__start")
    )


@retry_when_busy
@transaction.atomic
def withdraw_consent(*, consent, withdrawn_on: date, withdrawn_by=None) -> int:
    """Record a consent's withdrawal, cancel the patient's future bookings, which can no
    longer go ahead, and hold the open course for a clinician's review (DESIGN §2: no dose is
    booked or given without both consents; nothing is projected while held). Treatment resumes
    only after a new consent and a clinician's "continue" decision. Returns how many bookings
    were cancelled.

    Locks: the patient's open course(s) by id first, as `book_dose` does, so a booking being
    made at the same moment either finishes before the withdrawal or sees it and is refused;
    then the consent; then the future bookings' slots and the bookings. A withdrawal dated on
    or before a dose already given is refused: the record would say a dose was given without
    consent, so the date must be checked.
    """
    courses = _lock_courses(
        TreatmentCourse.objects.filter(patient_id=consent.patient_id)
        .exclude(status=TreatmentCourse.Status.STOPPED)
        .values("pk")
    )
    consent = _locking(type(consent).objects).get(pk=consent.pk)
    if consent.withdrawn_on is not None:
        raise ServiceError(
            f"This consent was already withdrawn on {format_day(consent.withdrawn_on)}."
        )
    if withdrawn_on < consent.signed_on:
        raise ServiceError("Consent cannot be withdrawn before it was signed.")
    if withdrawn_on > timezone.localdate():
        raise ServiceError("The date cannot be in the future.")
    given_after = (
        Dose.objects.filter(course__in=courses, given_at__isnull=False)
        .order_by("-given_at")
        .first()
    )
    if given_after is not None and timezone.localdate(given_after.given_at) >= withdrawn_on:
        raise ServiceError(
            f"Dose {given_after.number} was given on {format_day(given_after.given_at)}, on or "
            "after that date: check the withdrawal date with a clinician."
        )
    consent.withdrawn_on = withdrawn_on
    consent.save(update_fields=["withdrawn_on"])
    reason = f"{consent.get_kind_display()} withdrawn"
    cancelled = 0
    for course in courses:
        cancelled += _cancel_future_bookings(course, reason)
        if course.status != TreatmentCourse.Status.HELD:
            _hold(
                course,
                reason=CourseEvent.Reason.CONSENT_WITHDRAWN,
                reason_detail=reason,
                recorded_by=withdrawn_by,
            )
        outlook.refresh_next_due(course)
    return cancelled


def _hold(course, *, reason: str, reason_detail: str, recorded_by) -> None:
    """Put the course on hold for clinical review, dated today, in the caller's transaction
    and under its course lock. The caller refreshes the course's outlook."""
    today = timezone.localdate()
    last = course.events.order_by("-on").first()
    on = max(today, last.on) if last else today
    event = CourseEvent(
        course=course,
        kind=CourseEvent.Kind.HOLD,
        on=max(on, course.start_date),
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    event._history_user = course._history_user = recorded_by
    event.save()
    course.status = TreatmentCourse.Status.HELD
    course.save(update_fields=["status"])


def _event_date(course: TreatmentCourse, on: date, kind: str) -> date:
    """The date a decision is recorded on, or a refusal.

    A course whose start is still ahead (a typo such as 2062, or a start postponed) can be
    paused or stopped today: the decision is recorded on its start date, so nothing is ever
    projected from it, and the engine's rule "no event before the start" still holds.
    """
    if on < course.start_date:
        if kind == CourseEvent.Kind.RESUME or course.start_date <= timezone.localdate():
            raise CourseError("The date cannot be before the course started.")
        on = course.start_date
    elif on > timezone.localdate():
        raise CourseError("The date cannot be in the future.")
    last = course.events.order_by("-on").first()
    if last and on < last.on:
        raise CourseError(f"The date cannot be before the last change ({format_day(last.on)}).")
    return on


def _record_decision(course, *, kind, on, reason="", reason_detail="", **fields) -> None:
    """Record a clinician's decision and the course status it leads to, in the caller's
    transaction and under its course lock."""
    if kind != CourseEvent.Kind.RESUME:
        if reason not in CourseEvent.Reason.values:
            raise CourseError(
                f"Choose a reason for {'pausing' if kind == 'pause' else 'stopping'}."
            )
        if reason == CourseEvent.Reason.OTHER and not reason_detail.strip():
            raise CourseError("Say why, since the reason is “Other”.")
    on = _event_date(course, on, kind)
    event = CourseEvent(
        course=course,
        kind=kind,
        on=on,
        reason=reason,
        reason_detail=reason_detail.strip(),
        **fields,
    )
    event._history_user = course._history_user = fields.get("recorded_by")
    event.save()
    course.status = {
        CourseEvent.Kind.PAUSE: TreatmentCourse.Status.PAUSED,
        CourseEvent.Kind.RESUME: TreatmentCourse.Status.ACTIVE,
        CourseEvent.Kind.STOP: TreatmentCourse.Status.STOPPED,
        CourseEvent.Kind.HOLD: TreatmentCourse.Status.HELD,
    }[kind]
    course.save(update_fields=["status"])


@retry_when_busy
@transaction.atomic
def pause_course(
    *,
    course,
    on: date,
    reason: str,
    reason_detail: str = "",
    recorded_by,
    previewed: str | None = None,
) -> int:
    """Pause treatment and cancel future bookings (DESIGN §2). Returns how many were cancelled.

    Reasons from the labels' warnings: side effects; respiratory or spinal changes that make
    the lumbar puncture unsafe (US PI §5; EU SmPC 4.4). `previewed`: `_check_preview`.

    Locks: the course, then its future bookings' slots and the bookings.
    """
    course = _lock_course(course)
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseError(f"Only an active course can be paused; this one is {course.status}.")
    _check_preview(course, planning.Decision(CourseEvent.Kind.PAUSE, on), previewed)
    _record_decision(
        course,
        kind=CourseEvent.Kind.PAUSE,
        on=on,
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    cancelled = _cancel_future_bookings(course, "Treatment paused")
    outlook.refresh_next_due(course)
    return cancelled


@retry_when_busy
@transaction.atomic
def resume_course(
    *,
    course,
    on: date,
    restart_loading: bool = False,
    recorded_by,
    previewed: str | None = None,
) -> None:
    """Resume a paused course: the next dose is due as soon as possible (DESIGN §2). Restarting
    the loading doses is a clinician's recorded choice, never automatic. `previewed`:
    `_check_preview`.

    Locks: the course."""
    course = _lock_course(course)
    if course.status != TreatmentCourse.Status.PAUSED:
        raise CourseError("Only a paused course can be resumed.")
    blockers = course.patient.treatment_blockers(on=on)
    if blockers:
        raise CourseError("Cannot resume treatment: " + " ".join(blockers))
    decision = planning.Decision(CourseEvent.Kind.RESUME, on, restart_loading=restart_loading)
    _check_preview(course, decision, previewed)
    _record_decision(
        course,
        kind=CourseEvent.Kind.RESUME,
        on=on,
        restart_loading=restart_loading,
        recorded_by=recorded_by,
    )
    outlook.refresh_next_due(course)


@retry_when_busy
@transaction.atomic
def stop_course(
    *,
    course,
    on: date,
    reason: str,
    reason_detail: str = "",
    recorded_by,
    previewed: str | None = None,
) -> int:
    """Stop treatment: the course is closed and future bookings are cancelled (DESIGN §2).
    `previewed`: `_check_preview`.

    Locks: the course, then its future bookings' slots and the bookings."""
    course = _lock_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise CourseError("This course is already stopped.")
    _check_preview(course, planning.Decision(CourseEvent.Kind.STOP, on), previewed)
    _record_decision(
        course,
        kind=CourseEvent.Kind.STOP,
        on=on,
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    cancelled = _cancel_future_bookings(course, "Treatment stopped")
    outlook.refresh_next_due(course)
    return cancelled


@retry_when_busy
@transaction.atomic
def correct_start_date(*, course, start_date: date, reason: str, corrected_by) -> int:
    """Correct a course's start date typed wrong (a year typo: 2062 for 2026), before any dose
    is given. Returns how many future bookings were cancelled.

    Every date of the course is counted from day 0 (DESIGN §2 dosing schedule), so the bookings
    made from the wrong start are cancelled, to be rebooked from Needs booking; once a dose is
    given its date anchors the schedule and the start can no longer be corrected here. The new
    start has the same sane range as a new course (issue 8), and a pause, resume or hold dated
    before it would contradict it. The reason goes into the course's history with who did it.

    Locks: the course, then its future bookings' slots and the bookings."""
    course = _lock_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise CourseError("This course is stopped; its start date can no longer be corrected.")
    _check_start_date(start_date)
    if start_date == course.start_date:
        raise CourseError(f"The course already starts on {format_day(start_date)}.")
    first_given = course.doses.filter(given_at__isnull=False).order_by("number").first()
    if first_given is not None:
        raise CourseError(
            f"Dose {first_given.number} was given on "
            f"{format_day(timezone.localdate(first_given.given_at))}: the given doses anchor the "
            "schedule, so the start date can no longer be corrected. Ask the records team."
        )
    earlier = course.events.filter(on__lt=start_date).order_by("on").first()
    if earlier is not None:
        raise CourseError(
            f"The course was {earlier.get_kind_display().lower()} on {format_day(earlier.on)}, "
            f"before {format_day(start_date)}: a course cannot start after its own decisions."
        )
    cancelled = _cancel_future_bookings(course, "Course start date corrected")
    course.start_date = start_date
    course._history_user = corrected_by
    course._change_reason = reason[:100]
    course.save(update_fields=["start_date"])
    outlook.refresh_next_due(course)
    return cancelled


# Bookings --------------------------------------------------------------------------------------


def dose_for(*, course: TreatmentCourse, number: int) -> Dose:
    """The Dose row for a course's dose number, created the first time something happens to it."""
    dose, _ = Dose.objects.get_or_create(course=course, number=number)
    return dose


def _can_override(user) -> bool:
    return user.has_perm("schedules.override_booking_window")


def _later_booking(course: TreatmentCourse, number: int) -> Booking | None:
    """The first active booking of a later dose of the same course."""
    return (
        Booking.objects.active()
        .filter(dose__course=course, dose__number__gt=number)
        .select_related("dose", "slot__unit")
        .order_by("dose__number")
        .first()
    )


@retry_when_busy
@transaction.atomic
def book_dose(*, dose: Dose, slot: Slot, booked_by, override_reason: str = "") -> Booking:
    """Book `dose` into `slot`.

    1. Lock the course (one patient's schedule changes one at a time), then the slot (its
       capacity count). Inserting the booking takes a key-share lock on the slot and the dose.
    2. Refuse what is unsafe or impossible: a full slot, a dose already booked or given, a
       course that is not active, a patient without SOD1 confirmation or consents, a slot in
       the past or on a closed day, a second booking the same day, a dose booked before the
       doses ahead of it, or on or after a later dose's booking.
    3. Ask the engine for the dose's window (unit policy around the due date, DESIGN §2),
       counted from the doses before it only. The labels give no tolerance: outside the window
       only a clinician may book, with a reason.
    4. Insert the booking; the partial unique constraint backs up "one active booking per dose".
    """
    course = _lock_course(dose.course)
    slot = _lock_slots([slot.pk])[slot.pk]
    dose = Dose.objects.get(pk=dose.pk)
    unit = slot.unit
    slot_day = slot.local_date
    today = timezone.localdate()

    existing = dose.bookings.active().select_related("slot__unit").first()
    if existing is not None:
        raise AlreadyBooked(
            f"Dose {dose.number} is already booked for {existing.slot}.", booking=existing
        )
    if dose.given_at:
        raise BookingError(f"Dose {dose.number} has already been given.")
    if course.status != TreatmentCourse.Status.ACTIVE:
        if course.status == TreatmentCourse.Status.HELD:
            raise CourseNotActive(_not_active_message(course))
        raise CourseNotActive(
            f"Treatment is {course.get_status_display().lower()}: a clinician must resume it "
            "before a dose can be booked."
        )
    blockers = course.patient.treatment_blockers(on=slot_day)
    if blockers:
        raise NotEligible("Cannot book: " + " ".join(blockers))
    if slot.start <= timezone.now():
        raise SlotUnavailable("That slot has already started; choose a later one.")
    closed = unit.calendar(slot_day, slot_day).closure_reason(slot_day)
    if closed:
        raise SlotUnavailable(f"The unit is closed on {format_day(slot_day)}: {closed}.")
    if not slot.places or (slot.template is not None and not slot.template.active):
        raise SlotUnavailable(f"{slot} is no longer offered; choose another slot.")
    taken = Booking.objects.holding_places().filter(slot=slot).count()
    if taken >= slot.places:
        places = f"{slot.places} place{'' if slot.places == 1 else 's'}"
        raise SlotFull(f"{slot} is full ({places}, {taken} booked): choose another slot.")
    same_day = (
        Booking.objects.active()
        .filter(dose__course__patient=course.patient)
        .filter(slot__in=Slot.objects.on_day(unit, slot_day))
        .exists()
    )
    if same_day:
        raise SameDayBooking(f"{course.patient.full_name} already has a booking that day.")

    try:
        fresh = planning.fresh_plan(course, unit=unit, today=today, before=dose.number)
    except engine.ScheduleError as error:
        raise BookingError(planning.PROBLEM.format(error=error)) from None
    planned = {p.number: p for p in fresh}
    this = planned.get(dose.number)
    if this is None or this.state not in planning.BOOKABLE_STATES:
        first = next(
            (p.number for p in planned.values() if p.state in planning.BOOKABLE_STATES), dose.number
        )
        raise DoseOutOfOrder(f"Book dose {first} first: doses are booked in order.")
    previous = planned.get(dose.number - 1)
    if previous is not None and slot_day <= previous.date:
        raise OutsideWindow(
            f"Dose {dose.number} must come after dose {previous.number} "
            f"({format_day(previous.date)})."
        )
    later = _later_booking(course, dose.number)
    if later is not None and slot_day >= later.local_date:
        raise OutsideWindow(
            f"Dose {dose.number} must come before dose {later.dose.number}, booked for "
            f"{later.slot}: move dose {later.dose.number} first."
        )
    if not (this.window_start <= slot_day <= this.window_end):
        when = "before it is due" if slot_day < this.window_start else "late"
        if not _can_override(booked_by):
            raise OutsideWindow(
                f"{format_day(slot_day)} is {when}: dose {dose.number} is due "
                f"{format_day(this.due)} (window {format_day(this.window_start)} – "
                f"{format_day(this.window_end)}). A clinician must book it, with a reason."
            )
        if not override_reason.strip():
            raise OutsideWindow(
                f"{format_day(slot_day)} is {when} (due {format_day(this.due)}): "
                "give a reason for booking outside the window."
            )

    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                dose=dose,
                slot=slot,
                booked_by=booked_by,
                override_reason=override_reason.strip(),
            )
    except IntegrityError:
        existing = dose.bookings.active().select_related("slot__unit").first()
        raise AlreadyBooked(f"Dose {dose.number} is already booked.", booking=existing) from None
    if dose.bookings.exclude(pk=booking.pk).exists():
        _bump_calendar_sequence(dose)
    outlook.refresh_next_due(course)
    return booking


@retry_when_busy
@transaction.atomic
def book_dose_number(
    *, course: TreatmentCourse, number: int, slot: Slot, booked_by, override_reason: str = ""
) -> Booking:
    """Book dose `number` of `course`, creating its Dose row in the same transaction, so a
    refused booking leaves nothing behind. A replay of the same booking (a double click)
    returns the existing booking instead of failing.

    Locks: the course, then the slot (`book_dose`); the new dose row is the course's."""
    if number < 1:
        raise DoseOutOfOrder("Dose numbers start at 1.")
    course = _lock_course(course)
    dose = dose_for(course=course, number=number)
    try:
        return book_dose(dose=dose, slot=slot, booked_by=booked_by, override_reason=override_reason)
    except AlreadyBooked as error:
        if error.booking is not None and error.booking.slot_id == slot.pk:
            return error.booking
        raise


def _prefixed(error: BookingError, prefix: str) -> BookingError:
    message = f"{prefix}{error} Nothing was booked."
    if isinstance(error, AlreadyBooked):
        return AlreadyBooked(message, booking=error.booking)
    return type(error)(message)


@retry_when_busy
@transaction.atomic
def book_next_doses(
    *,
    course: TreatmentCourse,
    choices: Sequence[tuple[int, Slot]],
    booked_by,
    override_reason: str = "",
) -> list[Booking]:
    """Book several doses of one course, in dose order: all or none.

    Each dose's window is checked against the bookings made just before it, so the chain is
    the engine's. Any refusal rolls back the whole set and names the dose it stopped at.

    Locks: the course, then every chosen slot by id up front (booking in dose order would take
    them in date order, which is not id order once slots have been regenerated).
    """
    if not choices:
        raise BookingError("Choose at least one slot to book.")
    numbers = [number for number, _ in choices]
    if len(set(numbers)) != len(numbers):
        raise BookingError("Each dose can only be booked once.")
    _lock_course(course)
    _lock_slots(slot.pk for _, slot in choices)
    bookings = []
    for number, slot in sorted(choices, key=lambda choice: choice[0]):
        try:
            bookings.append(
                book_dose_number(
                    course=course,
                    number=number,
                    slot=slot,
                    booked_by=booked_by,
                    override_reason=override_reason,
                )
            )
        except BookingError as error:
            raise _prefixed(error, f"Dose {number}: ") from error
    return bookings


def _lock_course_of(booking: Booking) -> TreatmentCourse:
    """Lock order step 1 for a booking: its course (a booking's dose never changes)."""
    course_id = Booking.objects.values_list("dose__course_id", flat=True).get(pk=booking.pk)
    return _lock_course(TreatmentCourse(pk=course_id))


def _lock_booking(booking: Booking, *, also_slots=()) -> Booking:
    """Lock order steps 1–3 for one booking: its course, then its slot (and `also_slots`, by
    id), then the booking itself. Returns it fresh, with dose, course, patient, slot and unit
    loaded (not locked). A booking's dose and slot never change, so they are read first."""
    _lock_course_of(booking)
    _lock_slots([Booking.objects.values_list("slot_id", flat=True).get(pk=booking.pk), *also_slots])
    return _locking(Booking.objects.select_related("dose__course__patient", "slot__unit")).get(
        pk=booking.pk
    )


def _cancel(booking: Booking, reason: str) -> None:
    booking.status = Booking.Status.CANCELLED
    booking.cancel_reason = reason
    booking.save(update_fields=["status", "cancel_reason", "updated_at"])
    _bump_calendar_sequence(booking.dose)


@retry_when_busy
@transaction.atomic
def cancel_booking(*, booking: Booking, reason: str, cancelled_by) -> Booking:
    """Cancel a booking with a reason.

    A booking with a later dose booked after it cannot be cancelled on its own: the later
    dose is counted from this one (EU SmPC 4.2), so the nurse moves or cancels it first.

    Locks: the course, the booking's slot, the booking.
    """
    booking = _lock_booking(booking)
    if not reason.strip():
        raise BookingStateError("Give a reason for cancelling.")
    if booking.status == Booking.Status.CANCELLED and booking.cancel_reason == reason.strip():
        return booking  # The same cancellation sent twice.
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()} and cannot be cancelled."
        )
    later = _later_booking(booking.dose.course, booking.dose.number)
    if later is not None:
        raise BookingStateError(
            f"Dose {later.dose.number} is booked after this one ({later.slot}) and is counted "
            f"from it: cancel dose {later.dose.number} first, or reschedule this booking."
        )
    _cancel(booking, reason.strip())
    outlook.refresh_next_due(booking.dose.course)
    return booking


@retry_when_busy
@transaction.atomic
def reschedule_booking(
    *,
    booking: Booking,
    slot: Slot,
    rescheduled_by,
    override_reason: str = "",
    previewed: str | None = None,
) -> Booking:
    """Move a booking to another slot: all or nothing. The dose keeps its calendar UID and its
    SEQUENCE goes up. Later bookings stay where they are; if the move puts them outside their
    window they are flagged on the Overdue & rebook list, never moved silently.

    Replaying the same move (a double click) returns the booking it made. `previewed`:
    `_check_preview`.

    Locks: the course, then the old and the new slot by id, then the booking.
    """
    booking = _lock_booking(booking, also_slots=[slot.pk])
    if booking.status == Booking.Status.CANCELLED:
        current = booking.dose.bookings.active().select_related("slot__unit").first()
        if current is not None and current.slot_id == slot.pk:
            return current
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()} and cannot be moved."
        )
    if booking.slot_id == slot.pk:
        raise BookingStateError("The booking is already in that slot.")
    _check_preview(booking.dose.course, planning.Reschedule(booking, slot), previewed)
    _cancel(booking, "Rescheduled")
    return book_dose(
        dose=booking.dose, slot=slot, booked_by=rescheduled_by, override_reason=override_reason
    )


def _check_on_the_day(booking: Booking, action: str) -> None:
    if booking.slot.local_date != timezone.localdate():
        raise BookingStateError(f"A patient can only be marked {action} on the day of the visit.")


@retry_when_busy
@transaction.atomic
def mark_arrived(*, booking: Booking, marked_by) -> Booking:
    """Booked → arrived, on the day. Marking it twice (a double click) changes nothing.

    Locks: the course, the booking's slot, the booking."""
    booking = _lock_booking(booking)
    if booking.status == Booking.Status.ARRIVED:
        return booking
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}, not waiting for arrival."
        )
    _check_on_the_day(booking, "arrived")
    booking.status = Booking.Status.ARRIVED
    booking.save(update_fields=["status", "updated_at"])
    _visit_for(booking)
    _bump_calendar_sequence(booking.dose)
    return booking


@retry_when_busy
@transaction.atomic
def mark_no_show(*, booking: Booking, marked_by) -> Booking:
    """FHIR 'noshow'. The dose becomes due again (overdue: as soon as possible, DESIGN §2).

    Bookings of later doses are cancelled with a reason: they were counted from a dose that
    was not given, so they would be too early (EU SmPC 4.2). They are listed in
    `booking.cancelled_later` for the message to the nurse, and the doses come back on the
    worklists once the missed dose is rebooked.

    Locks: the course, then the slots of this booking and of the later ones by id, then the
    bookings.
    """
    booking = _lock_booking_with_later(booking)
    if booking.status == Booking.Status.NOSHOW:
        booking.cancelled_later = []  # Marked twice (a double click): nothing more to do.
        return booking
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}, not waiting for arrival."
        )
    if booking.slot.local_date > timezone.localdate():
        raise BookingStateError(
            "A patient can only be marked as not attending on or after the day."
        )
    booking.status = Booking.Status.NOSHOW
    booking.save(update_fields=["status", "updated_at"])
    _bump_calendar_sequence(booking.dose)
    later = _cancel_later_bookings(booking, _missed_reason(booking.dose.number))
    booking.cancelled_later = later
    outlook.refresh_next_due(booking.dose.course)
    return booking


@retry_when_busy
@transaction.atomic
def undo_arrived(*, booking: Booking, undone_by) -> Booking:
    """Take back "Arrived" pressed by mistake: arrived → booked, within `Booking.UNDO_WINDOW`
    (10 minutes) of the arrival and only while nothing else was recorded at the visit.

    1. Refused once the window has passed, or when checks, a clinician's decision or an
       outcome were recorded after the arrival: that record must not be lost, so the nurse
       records what happened instead (not given, with its reason).
    2. The visit record is deleted (its history keeps the arrival and who undid it), so a
       later arrival starts a fresh visit with its own time.
    3. Sending it twice (a double click) changes nothing.

    Locks: the course, the booking's slot, the booking, then the dose (calendar sequence).
    """
    booking = _lock_booking(booking)
    if booking.status == Booking.Status.BOOKED:
        return booking
    if booking.status != Booking.Status.ARRIVED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}: there is no arrival to undo."
        )
    visit = booking.visit_or_none
    if visit is not None and visit.has_record:
        raise BookingStateError(
            "Pre-dose checks or an outcome are already recorded for this visit, so the arrival "
            "cannot be undone. If the dose will not be given, record it as not given."
        )
    deadline = booking.undo_deadline
    if deadline is not None and timezone.now() > deadline:
        raise BookingStateError(
            f"The arrival was recorded more than {Booking.UNDO_MINUTES} minutes ago and can "
            "no longer be undone. If the dose will not be given, record it as not given."
        )
    if visit is not None:
        visit._history_user = undone_by
        visit._change_reason = "Arrival undone"
        visit.delete()
    booking.status = Booking.Status.BOOKED
    booking._history_user = undone_by
    booking._change_reason = "Arrival undone"
    booking.save(update_fields=["status", "updated_at"])
    _bump_calendar_sequence(booking.dose)
    outlook.refresh_next_due(booking.dose.course)
    return booking


def _missed_reason(number: int) -> str:
    return f"Dose {number} was missed: rebook after it is given."


@retry_when_busy
@transaction.atomic
def undo_no_show(*, booking: Booking, undone_by) -> Booking:
    """Take back "Did not attend" pressed by mistake, within `Booking.UNDO_WINDOW` (10
    minutes): all or nothing.

    Marking a dose missed freed its place and cancelled the bookings of later doses, which
    were counted from it (EU SmPC 4.2). Undoing restores exactly what was there: the booking
    goes back to booked and the later bookings cancelled by it are booked again in their
    slots. If any of that can no longer be restored, nothing changes and the nurse is told
    why (the safe choice: never a half-restored chain, never a slot over its places):

    1. the window has passed;
    2. treatment is no longer active (paused, held, stopped since);
    3. the missed dose, or a later one, has been booked again since;
    4. a place it held has been taken since.

    The restored bookings are listed in `booking.restored_later` for the message.

    Locks: the course, then the slots of this booking and of the later bookings it cancelled
    by id, then the bookings, then the doses (calendar sequence).
    """
    course = _lock_course_of(booking)
    current = Booking.objects.select_related("dose").get(pk=booking.pk)
    cancelled = Booking.objects.filter(
        dose__course=course,
        dose__number__gt=current.dose.number,
        status=Booking.Status.CANCELLED,
        cancel_reason=_missed_reason(current.dose.number),
        updated_at__gte=current.updated_at,
    )
    booking = _lock_booking(booking, also_slots=cancelled.values_list("slot_id", flat=True))
    booking.restored_later = []
    if booking.status == Booking.Status.BOOKED:
        return booking  # Undone twice (a double click).
    if booking.status != Booking.Status.NOSHOW:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}: there is no "
            "'did not attend' to undo."
        )
    if timezone.now() > booking.undo_deadline:
        raise BookingStateError(
            f"'Did not attend' was recorded more than {Booking.UNDO_MINUTES} minutes ago and "
            "can no longer be undone. Book the dose again from Overdue & rebook."
        )
    course = booking.dose.course
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise BookingStateError(
            f"{_not_active_message(course)} 'Did not attend' can no longer be undone."
        )
    later = _lock_bookings(cancelled.values("pk"))
    later.sort(key=lambda other: other.dose.number)
    for restored in [booking, *later]:
        number = restored.dose.number
        if restored.dose.given_at is not None:
            raise BookingStateError(
                f"Dose {number} has been recorded as given since, so 'did not attend' cannot "
                "be undone: nothing was changed."
            )
        if restored.dose.bookings.active().exists():
            raise BookingStateError(
                f"Dose {number} has been booked again since, so 'did not attend' cannot be "
                "undone: nothing was changed."
            )
        taken = Booking.objects.holding_places().filter(slot=restored.slot_id).count()
        if taken >= restored.slot.places:
            raise BookingStateError(
                f"The place of dose {number} on {restored.slot} has been taken since, so "
                "'did not attend' cannot be undone: nothing was changed."
            )
    for restored in [booking, *later]:
        restored.status = Booking.Status.BOOKED
        restored.cancel_reason = ""
        restored._history_user = undone_by
        restored._change_reason = "'Did not attend' undone"
        restored.save(update_fields=["status", "cancel_reason", "updated_at"])
        _bump_calendar_sequence(restored.dose)
    booking.restored_later = later
    outlook.refresh_next_due(course)
    return booking


def _not_active_message(course: TreatmentCourse) -> str:
    if course.status == TreatmentCourse.Status.HELD:
        return (
            "Treatment is on hold for clinical review: a clinician must record the review "
            "decision first."
        )
    return f"Treatment is {course.get_status_display().lower()}."


# The procedure record (DESIGN §2 "Procedure"); the three required ones with what to ask for.
ADMINISTRATION_FIELDS = frozenset(
    {
        "operator",
        "needle",
        "imaging",
        "csf_removed_ml",
        "volume_injected_ml",
        "vial_batch",
        "vial_expiry",
        "notes",
    }
)
REQUIRED_DETAILS = {
    "operator": "who did the lumbar puncture",
    "vial_batch": "the vial batch",
    "vial_expiry": "the vial expiry date",
}
# About 10 mL of CSF is removed first; 15 mL (100 mg) is injected (US PI §2.2, leaflet).
CSF_USUAL_ML = (Decimal(5), Decimal(20))
VOLUME_ML = Decimal(15)


def administration_warnings(details: dict) -> list[str]:
    """What a clinician should double-check in a procedure record (saved anyway)."""
    warnings = []
    csf = details.get("csf_removed_ml")
    if csf is not None and not CSF_USUAL_ML[0] <= Decimal(csf) <= CSF_USUAL_ML[1]:
        warnings.append(
            f"CSF removed was {csf} mL: usually about 10 mL (5–20 mL). Check the record."
        )
    volume = details.get("volume_injected_ml")
    if volume is not None and Decimal(volume) != VOLUME_ML:
        warnings.append(f"Volume injected was {volume} mL, not 15 mL (100 mg). Check the record.")
    return warnings


@retry_when_busy
@transaction.atomic
def record_administration(
    *, dose: Dose, given_at: datetime, recorded_by, override_reason: str = "", **details
) -> Dose:
    """Record that a dose was given: 100 mg/15 mL intrathecal bolus by lumbar puncture (US PI
    §2.2). The next dose is then counted from this date (EU SmPC 4.2).

    `details` are the procedure record: operator, needle, imaging, csf_removed_ml,
    volume_injected_ml, vial_batch, vial_expiry, notes. Operator, batch and expiry are required
    here, not only in the form.

    Recording rules (DESIGN §2): every earlier dose is given; never in the future; dose 1 not
    before the course start; never on or before the previous dose; before the dose's window
    only by a clinician with `override_reason` (kept on the dose and flagged on the timeline).
    When the dose has a booking, the patient must have arrived and the pre-dose checks must be
    complete. The returned dose carries `warnings` (CSF or volume outside the usual).

    Locks: the course, then the active booking's slot and the booking, then the dose.
    """
    unknown = set(details) - ADMINISTRATION_FIELDS
    if unknown:
        raise TypeError(f"Unknown administration details: {', '.join(sorted(unknown))}")
    _check_required_details(details)
    course = _lock_course(dose.course)
    active = dose.bookings.active().first()
    booking = _lock_booking(active) if active is not None else None
    dose = _locking(Dose.objects).get(pk=dose.pk)
    if dose.given_at:
        raise AdministrationError(f"Dose {dose.number} was already recorded as given.")
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseNotActive(_not_active_message(course))
    given_on = timezone.localdate(given_at)
    _check_eligible_to_give(course, given_on)
    if given_at > timezone.now():
        raise AdministrationError("The time given cannot be in the future.")
    if given_on < course.start_date:
        raise AdministrationError(
            f"The course started on {format_day(course.start_date)}: a dose cannot be recorded "
            "before that."
        )
    _check_vial_in_date(details, given_on)
    _check_earlier_doses_given(course, dose, given_on)
    late_entry = ""
    if booking is not None:
        late_entry = _check_visit_ready(booking, dose, recorded_by, override_reason)
    override_reason = _check_not_early(course, dose, given_on, recorded_by, override_reason)
    if late_entry:
        details["notes"] = "\n".join(filter(None, [details.get("notes", ""), late_entry]))
    for field, value in details.items():
        setattr(dose, field, value.strip() if isinstance(value, str) else value)
    dose.given_at = given_at
    dose.given_by = recorded_by
    dose.override_reason = override_reason
    dose.calendar_sequence += 1
    dose._history_user = recorded_by
    dose.save()
    if booking is not None:
        booking.status = Booking.Status.FULFILLED
        booking._history_user = recorded_by
        booking.save(update_fields=["status", "updated_at"])
    outlook.refresh_next_due(course)
    dose.warnings = administration_warnings(details)
    return dose


# The named checks of `record_administration`: each is one control of the hazard log
# (docs/hazard-log.md), small enough that `make hazards` can remove it and watch its tests fail.


def _check_required_details(details: dict) -> None:
    missing = [
        label
        for name, label in REQUIRED_DETAILS.items()
        if details.get(name) is None or not str(details.get(name)).strip()
    ]
    if missing:
        raise AdministrationError("Record " + ", ".join(missing) + " before saving the dose.")


def _check_eligible_to_give(course: TreatmentCourse, given_on: date) -> None:
    """SOD1 confirmed and both consents in force on the day (DESIGN §2)."""
    blockers = course.patient.treatment_blockers(on=given_on)
    if blockers:
        raise NotEligible("Cannot record the dose: " + " ".join(blockers))


def _check_vial_in_date(details: dict, given_on: date) -> None:
    expiry = details.get("vial_expiry")
    if expiry and expiry < given_on:
        raise AdministrationError("The vial had expired on that date: check the batch and expiry.")


def _check_earlier_doses_given(course: TreatmentCourse, dose: Dose, given_on: date) -> None:
    """Every earlier dose given, and this one after the previous (DESIGN §2)."""
    given_before = dict(
        Dose.objects.filter(
            course=course, number__lt=dose.number, given_at__isnull=False
        ).values_list("number", "given_at")
    )
    not_given = [n for n in range(1, dose.number) if n not in given_before]
    if not_given:
        raise DoseOutOfOrder(
            f"Dose {not_given[0]} is not recorded as given: record what happened at that "
            f"visit first (given, or not given and rebooked) before dose {dose.number}."
        )
    previous = given_before.get(dose.number - 1)
    if previous is not None and given_on <= timezone.localdate(previous):
        raise AdministrationError(
            f"Dose {dose.number} cannot be given on or before dose {dose.number - 1} "
            f"({format_day(timezone.localdate(previous))})."
        )


def _check_visit_ready(booking: Booking, dose: Dose, recorded_by, reason: str) -> str:
    """A booked dose is given at its visit: arrived, pre-dose checks complete (DESIGN §2).

    A past visit left with no outcome may be recorded afterwards only by a clinician, with a
    reason; returns the note that keeps that reason on the dose ("" otherwise)."""
    if booking.status == Booking.Status.BOOKED and booking.local_date < timezone.localdate():
        if not _can_override(recorded_by) or not reason.strip():
            raise AdministrationError(
                f"The visit on {booking.slot} has no record: a clinician may record the dose "
                "afterwards, with a reason (for example, the record was made on paper)."
            )
        return f"Recorded after the visit day: {reason.strip()}"
    visit = booking.visit_or_none
    if booking.status != Booking.Status.ARRIVED or visit is None:
        raise AdministrationError(
            f"Dose {dose.number} is booked for {booking.slot}: mark the patient arrived "
            "and complete the pre-dose checks first."
        )
    if not visit.checks_complete:
        raise AdministrationError(
            "The pre-dose checks are not complete: finish them (a clinician decides on "
            "any new symptom or pregnancy) before the dose is given."
        )
    return ""


def _check_not_early(course, dose, given_on: date, recorded_by, override_reason: str) -> str:
    """Before its window only by a clinician with a reason (unit policy, DESIGN §2). Returns
    the reason to keep ("" when the dose is not early)."""
    try:
        fresh = planning.fresh_plan(course, unit=Unit.current(), today=given_on, before=dose.number)
    except engine.ScheduleError as error:
        raise AdministrationError(planning.PROBLEM.format(error=error)) from None
    this = next((p for p in fresh if p.number == dose.number), None)
    if this is None or given_on >= this.window_start:
        return ""
    if not _can_override(recorded_by):
        raise AdministrationError(
            f"Dose {dose.number} is due {format_day(this.due)}: giving it on "
            f"{format_day(given_on)} is early. Only a clinician may record it, with a reason."
        )
    if not override_reason.strip():
        raise AdministrationError(
            f"Dose {dose.number} is due {format_day(this.due)}: give a reason for giving it early."
        )
    return override_reason.strip()


# The visit -------------------------------------------------------------------------------------


def _visit_for(booking: Booking) -> Visit:
    visit = booking.visit_or_none
    if visit is None:
        visit = Visit.objects.create(booking=booking, arrived_at=timezone.now())
    return visit


@retry_when_busy
@transaction.atomic
def record_checks(
    *,
    booking: Booking,
    recorded_by,
    identity_confirmed: bool,
    blood_sample_taken: bool,
    pregnancy: str = "",
    clotting_checked: bool | None = None,
    symptom_headache: bool = False,
    symptom_neck_stiffness: bool = False,
    symptom_vision: bool = False,
    symptom_numbness_weakness: bool = False,
) -> Visit:
    """Save the pre-dose checks (DESIGN §2 "Before"; patient leaflet). Consents are read from
    the record, not typed. A 'yes' to a new symptom, or to pregnancy or breastfeeding, stops
    the checks until a clinician decides (`clear_checks`). The pregnancy question must be
    answered for a patient who could be pregnant."""
    booking = _lock_booking(booking)
    if booking.status != Booking.Status.ARRIVED:
        raise VisitError(
            f"This booking is {booking.get_status_display().lower()}: the checks are done "
            "after the patient has arrived."
        )
    patient = booking.dose.course.patient
    if not identity_confirmed:
        raise VisitError("Confirm the patient's identity (name and date of birth) first.")
    _check_pregnancy_asked(patient, pregnancy)
    if pregnancy not in Visit.Pregnancy.values:
        raise VisitError("Choose an answer to the pregnancy question.")
    visit = _visit_for(booking)
    visit.identity_confirmed = True
    visit.consents_on_file = not patient.treatment_blockers(on=booking.local_date)
    visit.symptom_headache = bool(symptom_headache)
    visit.symptom_neck_stiffness = bool(symptom_neck_stiffness)
    visit.symptom_vision = bool(symptom_vision)
    visit.symptom_numbness_weakness = bool(symptom_numbness_weakness)
    visit.pregnancy = pregnancy
    visit.blood_sample_taken = bool(blood_sample_taken)
    visit.clotting_checked = clotting_checked
    visit.checks_by = recorded_by
    visit.checks_at = timezone.now()
    visit.cleared_by = None
    visit.cleared_note = ""
    visit._history_user = recorded_by
    visit.save()
    return visit


def _check_pregnancy_asked(patient, pregnancy: str) -> None:
    """Asked before each dose for a patient who could be pregnant (DESIGN §2 pregnancy)."""
    if patient.could_be_pregnant and pregnancy not in (Visit.Pregnancy.NO, Visit.Pregnancy.YES):
        raise VisitError("Ask about pregnancy and breastfeeding and record the answer.")


@retry_when_busy
@transaction.atomic
def clear_checks(*, booking: Booking, cleared_by, note: str) -> Visit:
    """A clinician's decision that the dose may go ahead despite a 'yes' in the checks."""
    booking = _lock_booking(booking)
    visit = booking.visit_or_none
    if booking.status != Booking.Status.ARRIVED or visit is None or not visit.checks_at:
        raise VisitError("There are no pre-dose checks waiting for a decision.")
    if not note.strip():
        raise VisitError("Write the clinical decision: why the dose may go ahead.")
    if not _can_override(cleared_by):
        raise VisitError("Only a clinician can decide that the dose may go ahead.")
    visit.cleared_by = cleared_by
    visit.cleared_note = note.strip()
    visit._history_user = cleared_by
    visit.save(update_fields=["cleared_by", "cleared_note", "updated_at"])
    return visit


def _lock_booking_with_later(booking: Booking) -> Booking:
    """Lock order steps 1–3 for a booking whose later bookings may be cancelled: the course,
    then the slots of this booking and of the later ones by id, then the booking."""
    course = _lock_course_of(booking)
    later_slots = (
        Booking.objects.active()
        .filter(dose__course=course, dose__number__gt=booking.dose.number)
        .values_list("slot_id", flat=True)
    )
    return _lock_booking(booking, also_slots=later_slots)


def _cancel_later_bookings(booking: Booking, why: str) -> list[Booking]:
    """Cancel the bookings of later doses, counted from this one (their slots are already
    locked by `_lock_booking_with_later`); returns them in dose order."""
    later = _lock_bookings(
        Booking.objects.active()
        .filter(dose__course=booking.dose.course, dose__number__gt=booking.dose.number)
        .values("pk")
    )
    later.sort(key=lambda other: other.dose.number)
    for other in later:
        _cancel(other, why)
    return later


@retry_when_busy
@transaction.atomic
def record_not_given(*, booking: Booking, reason: str, recorded_by, detail: str = "") -> Booking:
    """The visit ended without the dose (DESIGN §2): the booking is closed (NOT_GIVEN, shown
    as cancelled in the feed) and anchors nothing, so the dose stays due or overdue and goes on
    the Overdue & rebook list. Later bookings, counted from this visit, are cancelled and
    listed in `booking.cancelled_later`. Sending it twice changes nothing.

    Locks: the course, then the slots of this booking and of the later ones by id, then the
    bookings, then the dose (its calendar sequence)."""
    booking = _lock_booking_with_later(booking)
    if booking.status == Booking.Status.NOT_GIVEN:
        booking.cancelled_later = []
        return booking
    if reason not in Visit.NotGivenReason.values:
        raise VisitError("Choose why the dose was not given.")
    detail = detail.strip()
    if reason == Visit.NotGivenReason.OTHER and not detail:
        raise VisitError("Say why, since the reason is “Other”.")
    if booking.status not in (Booking.Status.ARRIVED, Booking.Status.BOOKED):
        raise VisitError(
            f"This booking is {booking.get_status_display().lower()}: it cannot be recorded "
            "as not given."
        )
    if booking.local_date > timezone.localdate():
        raise VisitError("A visit can only be recorded as not given on or after its day.")
    visit = _visit_for(booking)
    visit.not_given_reason = reason
    visit.not_given_detail = detail
    visit._history_user = booking._history_user = recorded_by
    visit.save(update_fields=["not_given_reason", "not_given_detail", "updated_at"])
    booking.status = Booking.Status.NOT_GIVEN
    booking.cancel_reason = Visit.NotGivenReason(reason).label + (f": {detail}" if detail else "")
    booking.save(update_fields=["status", "cancel_reason", "updated_at"])
    _bump_calendar_sequence(booking.dose)
    booking.cancelled_later = _cancel_later_bookings(
        booking, f"Dose {booking.dose.number} was not given: rebook after it is given."
    )
    outlook.refresh_next_due(booking.dose.course)
    return booking


def _given_visit(booking: Booking) -> tuple[Booking, Visit]:
    booking = _lock_booking(booking)
    if booking.status != Booking.Status.FULFILLED:
        raise VisitError("Observation and discharge are recorded after the dose is given.")
    visit = booking.visit_or_none
    if visit is None:
        visit = Visit.objects.create(booking=booking, arrived_at=booking.dose.given_at)
    return booking, visit


def _check_time(at: datetime, after: datetime, what: str) -> None:
    if at > timezone.now() + timedelta(minutes=1):
        raise VisitError(f"The {what} time cannot be in the future.")
    if at < after:
        raise VisitError(f"The {what} time cannot be before the dose was given.")


@retry_when_busy
@transaction.atomic
def start_observation(*, booking: Booking, recorded_by, at: datetime | None = None) -> Visit:
    """Observation after the dose: 60–90 minutes (patient leaflet). Twice changes nothing."""
    booking, visit = _given_visit(booking)
    if visit.observation_start:
        return visit
    at = at or timezone.now()
    _check_time(at, booking.dose.given_at, "observation start")
    visit.observation_start = at
    visit._history_user = recorded_by
    visit.save(update_fields=["observation_start", "updated_at"])
    return visit


# The leaflet's observation: 60–90 minutes after the dose (one constant, on the visit).
MIN_OBSERVATION = Visit.MIN_OBSERVATION


@retry_when_busy
@transaction.atomic
def record_discharge(*, booking: Booking, recorded_by, at: datetime | None = None) -> Visit:
    """End observation and discharge. The visit carries `warnings` when the patient left less
    than 60 minutes after the dose (patient leaflet: 60–90 minutes of observation)."""
    booking, visit = _given_visit(booking)
    visit.warnings = []
    if visit.discharged_at:
        return visit
    at = at or timezone.now()
    _check_time(at, booking.dose.given_at, "discharge")
    if visit.observation_start and at < visit.observation_start:
        raise VisitError("Discharge cannot be before observation started.")
    visit.observation_start = visit.observation_start or booking.dose.given_at
    visit.observation_end = visit.observation_end or at
    visit.discharged_at = at
    visit._history_user = recorded_by
    visit.save()
    minutes = int((at - booking.dose.given_at).total_seconds() // 60)
    if at - booking.dose.given_at < MIN_OBSERVATION:
        visit.warnings.append(
            f"Discharged {minutes} minutes after the dose: the leaflet asks for 60–90 minutes "
            "of observation. Note why in the record."
        )
    return visit


# Adverse events and holds ----------------------------------------------------------------------

ADVERSE_EVENT_FIELDS = frozenset(
    {
        "term_detail",
        "severity",
        "relation",
        "action_taken",
        "outcome",
        "resolved_on",
        "triage",
        "advice",
    }
)


@retry_when_busy
@transaction.atomic
def record_adverse_event(
    *, course, term: str, onset: date, serious: bool, recorded_by, dose=None, **details
) -> AdverseEvent:
    """Record an adverse event against the course, and the dose it followed when it did.

    A serious neurological event (myelitis, radiculitis, aseptic meningitis, papilloedema or
    raised intracranial pressure; US PI §5, EU SmPC 4.4) or any event marked serious puts the
    open course on hold for clinical review (DESIGN §2): nothing is booked, given or projected
    until a clinician records continue, pause or stop. A PLPH with triage answers gets the
    matching step of the PLPH pathway stored as its advice. `event.held` says whether this
    event put the course on hold.
    """
    unknown = set(details) - ADVERSE_EVENT_FIELDS
    if unknown:
        raise TypeError(f"Unknown adverse-event details: {', '.join(sorted(unknown))}")
    course = _lock_course(course)
    if term not in AdverseEvent.Term.values:
        raise AdverseEventError("Choose the event from the list (or “Other” and describe it).")
    if term == AdverseEvent.Term.OTHER and not str(details.get("term_detail", "")).strip():
        raise AdverseEventError("Describe the event, since it is “Other”.")
    if onset is None:
        raise AdverseEventError("Give the date the event started.")
    if onset > timezone.localdate():
        raise AdverseEventError("The onset date cannot be in the future.")
    if onset < course.start_date:
        raise AdverseEventError("The onset date cannot be before the course started.")
    resolved_on = details.get("resolved_on")
    if resolved_on and resolved_on < onset:
        raise AdverseEventError("The event cannot resolve before it started.")
    if dose is not None:
        dose = Dose.objects.get(pk=dose.pk)
        if dose.course_id != course.pk or not dose.given_at:
            raise AdverseEventError("Link the event to a dose of this course that was given.")
        if onset < timezone.localdate(dose.given_at):
            raise AdverseEventError(
                f"The event started before dose {dose.number} was given: link it to an "
                "earlier dose or to none."
            )
    triage = details.get("triage") or {}
    if term == AdverseEvent.Term.PLPH and triage:
        details["advice"] = plph_advice(triage).advice
    event = AdverseEvent(
        course=course,
        dose=dose,
        term=term,
        onset=onset,
        serious=bool(serious),
        recorded_by=recorded_by,
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in details.items()},
    )
    event._history_user = recorded_by
    event.save()
    event.held = False
    if event.needs_review and course.status not in (
        TreatmentCourse.Status.STOPPED,
        TreatmentCourse.Status.HELD,
    ):
        _hold(
            course,
            reason=CourseEvent.Reason.SERIOUS_EVENT,
            reason_detail=f"{event.label} from {format_day(onset)}",
            recorded_by=recorded_by,
        )
        event.held = True
        outlook.refresh_next_due(course)
    return event


class ReviewDecision(models.TextChoices):
    CONTINUE = "continue", "Continue treatment"
    PAUSE = "pause", "Pause treatment"
    STOP = "stop", "Stop treatment"


@retry_when_busy
@transaction.atomic
def record_review_decision(*, course, decision: str, on: date, note: str, recorded_by) -> int:
    """A clinician's review of a held course (DESIGN §2): continue (the next dose is due as
    soon as possible, never sooner than its interval), pause or stop (future bookings are
    cancelled). Continuing needs the SOD1 confirmation and both consents on file. Returns how
    many bookings were cancelled."""
    course = _lock_course(course)
    if course.status != TreatmentCourse.Status.HELD:
        raise CourseError("This course is not on hold for review.")
    if decision not in ReviewDecision.values:
        raise CourseError("Choose continue, pause or stop.")
    if not note.strip():
        raise CourseError("Write the review note: what was decided and why.")
    if not _can_override(recorded_by):
        raise CourseError("Only a clinician can record the review decision.")
    if decision == ReviewDecision.CONTINUE:
        blockers = course.patient.treatment_blockers(on=on)
        if blockers:
            raise CourseError("Cannot continue treatment: " + " ".join(blockers))
    kind = {
        ReviewDecision.CONTINUE: CourseEvent.Kind.RESUME,
        ReviewDecision.PAUSE: CourseEvent.Kind.PAUSE,
        ReviewDecision.STOP: CourseEvent.Kind.STOP,
    }[ReviewDecision(decision)]
    _record_decision(
        course,
        kind=kind,
        on=on,
        reason=CourseEvent.Reason.REVIEW if kind != CourseEvent.Kind.RESUME else "",
        reason_detail=note,
        recorded_by=recorded_by,
    )
    cancelled = 0
    if kind != CourseEvent.Kind.RESUME:
        cancelled = _cancel_future_bookings(course, f"Clinical review: treatment {decision}")
    outlook.refresh_next_due(course)
    return cancelled


# PLPH triage (DESIGN §2 PLPH pathway) ------------------------------------------------------------


@dataclass(frozen=True)
class PlphStep:
    step: str  # "urgent", "blood_patch", "conservative", "not_plph"
    advice: str


PLPH_CONSERVATIVE = (
    "Conservative care: lie flat, drink 2–3 litres of fluid a day, take paracetamol or "
    "ibuprofen, and caffeine (coffee, tea or cola). Call back if it is no better in 24–48 hours."
)
PLPH_RED_FLAGS = ("fever", "neck_stiffness_with_fever", "vision_change", "new_weakness")


def plph_advice(answers: dict) -> PlphStep:
    """The matching step of the PLPH pathway for the triage answers (DESIGN §2):

    - red flags (fever, neck stiffness with fever, vision change, new weakness) → urgent
      medical review, whatever else;
    - typical PLPH (within 48 h of the procedure, worse upright, better lying), severe and
      still present after 24 hours or more despite conservative measures → refer to
      anaesthetics for an epidural blood patch;
    - otherwise typical PLPH → conservative care;
    - not typical → clinician review of another cause of headache.
    """
    if any(answers.get(flag) for flag in PLPH_RED_FLAGS):
        return PlphStep(
            "urgent",
            "Red flag: urgent medical review today (possible meningitis or raised pressure). "
            "Do not wait for the next visit.",
        )
    typical = answers.get("onset_within_48h") and answers.get("postural")
    if not typical:
        return PlphStep(
            "not_plph",
            "Not a typical post-lumbar-puncture headache: a clinician reviews other causes.",
        )
    hours = int(answers.get("hours_since_onset") or 0)
    if answers.get("severity") == "severe" and hours >= 24 and answers.get("conservative_tried"):
        return PlphStep(
            "blood_patch",
            "Severe and persisting despite conservative care: refer to anaesthetics for an "
            "epidural blood patch.",
        )
    return PlphStep("conservative", PLPH_CONSERVATIVE)


# Follow-up calls ---------------------------------------------------------------------------------


@retry_when_busy
@transaction.atomic
def record_follow_up_call(
    *, dose: Dose, outcome: str, recorded_by, note: str = "", adverse_event=None
) -> FollowUpCall:
    """A nurse's call one or two days after a dose (DESIGN §2 safety net)."""
    _lock_course(dose.course)
    dose = Dose.objects.get(pk=dose.pk)
    if not dose.given_at:
        raise VisitError("Follow-up calls are for doses that were given.")
    if outcome not in FollowUpCall.Outcome.values:
        raise VisitError("Choose the outcome of the call.")
    return FollowUpCall.objects.create(
        dose=dose,
        outcome=outcome,
        note=note.strip(),
        adverse_event=adverse_event,
        called_at=timezone.now(),
        called_by=recorded_by,
    )


# Slots -----------------------------------------------------------------------------------------

MAX_GENERATE_WEEKS = 104


@dataclass
class SlotReport:
    """What `generate_slots` did; `affected` are active bookings a nurse must look at because
    their slot was closed, withdrawn or shrunk."""

    created: int = 0
    updated: int = 0
    removed: int = 0
    withdrawn: int = 0
    affected: list[Booking] = dataclasses.field(default_factory=list)

    def __str__(self):
        text = (
            f"{self.created} slots created, {self.updated} updated, {self.removed} removed, "
            f"{self.withdrawn} withdrawn"
        )
        if self.affected:
            text += f"; {len(self.affected)} bookings need rebooking"
        return text


def _wanted_slots(unit: Unit, calendar: UnitCalendar, first: date, last: date, now: datetime):
    """{start: (template, end, places)} for the templates' slots on the open days."""
    templates = list(unit.session_templates.filter(active=True))
    wanted = {}
    day = first
    while day <= last:
        if not calendar.closure_reason(day):
            for template in templates:
                if template.weekday != day.weekday():
                    continue
                # Wall-clock arithmetic in the unit's zone: 09:00 stays 09:00 across the
                # March and October clock changes.
                session_start = datetime.combine(day, template.start_time, tzinfo=unit.zone)
                length = timedelta(minutes=template.slot_minutes)
                for index in range(template.slot_count):
                    start = session_start + index * length
                    if start > now:
                        wanted[start] = (template, start + length, template.places)
        day += timedelta(days=1)
    return wanted


@retry_when_busy
@transaction.atomic
def generate_slots(*, unit: Unit, start: date | None = None, weeks: int | None = None):
    """Make the unit's future slots match its session templates and closures. Idempotent.

    1. Take the unit's generation lock (a transaction-level advisory lock on PostgreSQL; on
       SQLite writers are serialised anyway), so two runs (the nightly command, a nurse's
       button) do not interleave. Never the unit row (see the lock order above).
    2. Work out the slots the templates give on each open day from `start` (never before
       today) for `weeks` weeks (the unit's horizon by default), skipping closures and, when
       the unit closes on them, England's bank holidays.
    3. Create the missing ones; bring changed ones (length, places) in line.
    4. A slot no longer wanted is deleted when nothing was ever booked in it. A slot holding
       bookings is never deleted: it is withdrawn (its places cut to its active bookings, so
       nobody else is booked into it) and its active bookings are reported for rebooking.
       So is a booking whose slot lost places it had already filled.
    One-off extra sessions (slots without a template) are left alone, but their bookings are
    reported when a closure now covers their day.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [GENERATE_SLOTS_LOCK, unit.pk])
    unit = Unit.objects.get(pk=unit.pk)
    today = timezone.localdate()
    first = max(start or today, today)
    weeks = unit.horizon_weeks if weeks is None else weeks
    if not 1 <= weeks <= MAX_GENERATE_WEEKS:
        raise ServiceError(f"Generate between 1 and {MAX_GENERATE_WEEKS} weeks of slots.")
    last = first + timedelta(weeks=weeks) - timedelta(days=1)
    calendar = unit.calendar(first, last)
    now = timezone.now()
    wanted = _wanted_slots(unit, calendar, first, last, now)

    # Claim the future slots first, by id (a locking read cannot carry the booked-count
    # aggregate), so a booking being made meanwhile finishes before its slot is withdrawn or
    # deleted. FOR UPDATE, not NO KEY: a slot nobody booked may be deleted.
    _lock_slots(
        Slot.objects.between(unit, first, last).filter(start__gt=now).values_list("pk", flat=True),
        for_delete=True,
    )
    existing = {
        slot.start: slot
        for slot in Slot.objects.between(unit, first, last)
        .filter(start__gt=now)
        .with_booked_count()
        .prefetch_related("bookings")
    }
    report = SlotReport()
    affected_ids = set()

    def report_affected(slot):
        for booking in slot.bookings.all():
            if booking.is_active:
                affected_ids.add(booking.pk)

    for slot_start, (template, end, places) in wanted.items():
        slot = existing.pop(slot_start, None)
        if slot is None:
            Slot.objects.create(
                unit=unit, template=template, start=slot_start, end=end, places=places
            )
            report.created += 1
            continue
        if slot.template_id is None:
            continue  # A one-off extra session at the same time: it stays as it was made.
        if (slot.end, slot.places, slot.template_id) != (end, places, template.pk):
            slot.end, slot.places, slot.template = end, places, template
            slot.save(update_fields=["end", "places", "template"])
            report.updated += 1
            if slot.booked_count > places:
                report_affected(slot)

    for slot in existing.values():
        if slot.template_id is None:
            if slot.booked_count and calendar.closure_reason(slot.local_date):
                report_affected(slot)
            continue
        if not slot.bookings.all():
            slot.delete()
            report.removed += 1
            continue
        if slot.places != slot.booked_count:
            slot.places = slot.booked_count
            slot.save(update_fields=["places"])
            report.withdrawn += 1
        report_affected(slot)

    report.affected = list(
        Booking.objects.filter(pk__in=affected_ids)
        .select_related("dose__course__patient", "slot__unit")
        .order_by("slot__start")
    )
    return report


@retry_when_busy
@transaction.atomic
def ask_clinician(
    *, course: TreatmentCourse, number: int, slot: Slot | None, note: str = "", asked_by
) -> ClinicianRequest:
    """A nurse hands a dose to a clinician to book (a date past the window needs one).

    1. Lock the course (lock order: course first), so the request and a booking of the same
       dose cannot interleave.
    2. Refuse a dose already given or booked: there is nothing left to ask.
    3. One request per dose: asking again updates the slot, the note and who asked.
    """
    course = _lock_course(course)
    dose = Dose.objects.filter(course=course, number=number).first()
    if dose is not None and dose.given_at is not None:
        raise BookingError(f"Dose {number} has already been given.")
    if Booking.objects.active().filter(dose__course=course, dose__number=number).exists():
        raise BookingError(f"Dose {number} is already booked: nothing to ask a clinician.")
    if slot is not None and slot.unit_id is None:
        slot = None
    request, _ = ClinicianRequest.objects.update_or_create(
        course=course,
        dose_number=number,
        defaults={"slot": slot, "note": note.strip()[:300], "asked_by": asked_by},
    )
    return request
