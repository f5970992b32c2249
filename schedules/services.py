"""Writes that touch several rows. Each is keyword-only, atomic, validates, and raises a
`ServiceError` subclass whose message a nurse can read.

Lock order, everywhere: the course row first, then the slot row. Locking the course serialises
everything that happens to one patient's schedule (same-day rule, the dose chain); locking the
slot serialises the capacity count. With SQLite the IMMEDIATE transaction mode serialises writers
instead (see settings).
"""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from patients.models import Patient
from schedules import engine
from schedules.models import (
    Booking,
    CourseEvent,
    Dose,
    Slot,
    TreatmentCourse,
    Unit,
)


class ServiceError(Exception):
    """A refused action; str(error) is the message shown to the nurse."""


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


def _lock_course(course: TreatmentCourse) -> TreatmentCourse:
    return (
        TreatmentCourse.objects.select_for_update()
        .select_related("patient")
        .get(pk=course.pk)
    )


def _bump_calendar_sequence(dose: Dose) -> None:
    """iCalendar SEQUENCE goes up whenever the appointment's time or status changes
    (RFC 5545 §3.8.7.4)."""
    Dose.objects.filter(pk=dose.pk).update(
        calendar_sequence=F("calendar_sequence") + 1, updated_at=timezone.now()
    )


_BOOKABLE_STATES = (engine.DoseState.DUE, engine.DoseState.OVERDUE)


def _fresh_plan(course: TreatmentCourse, *, unit: Unit, today: date):
    """The engine's plan from the database as it is inside the lock."""
    course = (
        TreatmentCourse.objects.prefetch_related(
            "events", "doses__bookings__slot__unit"
        ).get(pk=course.pk)
    )
    for dose in course.doses.all():
        dose.active_bookings = [b for b in dose.bookings.all() if b.is_active]
    calendar = unit.calendar(today, today.replace(year=today.year + 1))
    return course.plan(today=today, is_open=calendar.is_open, policy=unit.policy)


# Courses ---------------------------------------------------------------------------------------


@transaction.atomic
def start_course(*, patient: Patient, start_date: date, started_by) -> TreatmentCourse:
    """Start a treatment course with dose 1 due on `start_date` (day 0).

    Refused unless the SOD1 mutation is confirmed and both consents are on file and not
    withdrawn (DESIGN §2 eligibility gate; US PI §1, EU SmPC 4.1).
    """
    patient = Patient.objects.select_for_update().prefetch_related("consents").get(pk=patient.pk)
    blockers = patient.treatment_blockers(on=start_date)
    if blockers:
        raise CourseError("Cannot start treatment: " + " ".join(blockers))
    if TreatmentCourse.objects.filter(patient=patient).exclude(
        status=TreatmentCourse.Status.STOPPED
    ).exists():
        raise CourseError("This patient already has a treatment course.")
    try:
        with transaction.atomic():
            return TreatmentCourse.objects.create(
                patient=patient, start_date=start_date, started_by=started_by
            )
    except IntegrityError:
        raise CourseError("This patient already has a treatment course.") from None


def _cancel_future_bookings(course: TreatmentCourse, reason: str) -> int:
    bookings = list(
        Booking.objects.active()
        .filter(dose__course=course, slot__start__gte=timezone.now())
        .select_related("dose")
    )
    for booking in bookings:
        booking.status = Booking.Status.CANCELLED
        booking.cancel_reason = reason
        booking.save(update_fields=["status", "cancel_reason", "updated_at"])
        _bump_calendar_sequence(booking.dose)
    return len(bookings)


def _check_event_date(course: TreatmentCourse, on: date) -> None:
    if on < course.start_date:
        raise CourseError("The date cannot be before the course started.")
    if on > timezone.localdate():
        raise CourseError("The date cannot be in the future.")
    last = course.events.order_by("-on").first()
    if last and on < last.on:
        raise CourseError(f"The date cannot be before the last change ({last.on:%d %b %Y}).")


@transaction.atomic
def pause_course(*, course, on: date, reason: str, reason_detail: str = "", recorded_by) -> int:
    """Pause treatment and cancel future bookings (DESIGN §2). Returns how many were cancelled.

    Reasons from the labels' warnings: side effects; respiratory or spinal changes that make
    the lumbar puncture unsafe (US PI §5; EU SmPC 4.4).
    """
    course = _lock_course(course)
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseError(f"Only an active course can be paused; this one is {course.status}.")
    if reason not in CourseEvent.Reason.values:
        raise CourseError("Choose a reason for pausing.")
    if reason == CourseEvent.Reason.OTHER and not reason_detail.strip():
        raise CourseError("Say why the course is paused.")
    _check_event_date(course, on)
    CourseEvent.objects.create(
        course=course,
        kind=CourseEvent.Kind.PAUSE,
        on=on,
        reason=reason,
        reason_detail=reason_detail.strip(),
        recorded_by=recorded_by,
    )
    course.status = TreatmentCourse.Status.PAUSED
    course.save(update_fields=["status"])
    return _cancel_future_bookings(course, "Treatment paused")


@transaction.atomic
def resume_course(*, course, on: date, restart_loading: bool = False, recorded_by) -> None:
    """Resume a paused course: the next dose is due as soon as possible (DESIGN §2). Restarting
    the loading doses is a clinician's recorded choice, never automatic."""
    course = _lock_course(course)
    if course.status != TreatmentCourse.Status.PAUSED:
        raise CourseError("Only a paused course can be resumed.")
    blockers = course.patient.treatment_blockers(on=on)
    if blockers:
        raise CourseError("Cannot resume treatment: " + " ".join(blockers))
    _check_event_date(course, on)
    CourseEvent.objects.create(
        course=course,
        kind=CourseEvent.Kind.RESUME,
        on=on,
        restart_loading=restart_loading,
        recorded_by=recorded_by,
    )
    course.status = TreatmentCourse.Status.ACTIVE
    course.save(update_fields=["status"])


@transaction.atomic
def stop_course(*, course, on: date, reason: str, reason_detail: str = "", recorded_by) -> int:
    """Stop treatment: the course is closed and future bookings are cancelled (DESIGN §2)."""
    course = _lock_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise CourseError("This course is already stopped.")
    if reason not in CourseEvent.Reason.values:
        raise CourseError("Choose a reason for stopping.")
    if reason == CourseEvent.Reason.OTHER and not reason_detail.strip():
        raise CourseError("Say why treatment is stopped.")
    _check_event_date(course, on)
    CourseEvent.objects.create(
        course=course,
        kind=CourseEvent.Kind.STOP,
        on=on,
        reason=reason,
        reason_detail=reason_detail.strip(),
        recorded_by=recorded_by,
    )
    course.status = TreatmentCourse.Status.STOPPED
    course.save(update_fields=["status"])
    return _cancel_future_bookings(course, "Treatment stopped")


# Bookings --------------------------------------------------------------------------------------


def dose_for(*, course: TreatmentCourse, number: int) -> Dose:
    """The Dose row for a course's dose number, created the first time something happens to it."""
    dose, _ = Dose.objects.get_or_create(course=course, number=number)
    return dose


def _can_override(user) -> bool:
    return user.has_perm("schedules.override_booking_window")


@transaction.atomic
def book_dose(*, dose: Dose, slot: Slot, booked_by, override_reason: str = "") -> Booking:
    """Book `dose` into `slot`.

    1. Lock the course (one patient's schedule changes one at a time), then the slot.
    2. Refuse what is unsafe or impossible: a full slot, a dose already booked or given, a
       course that is not active, a patient without SOD1 confirmation or consents, a slot in
       the past or on a closed day, a second booking the same day, a dose booked before the
       doses ahead of it.
    3. Ask the engine for the dose's window (unit policy around the due date, DESIGN §2). The
       labels give no tolerance: outside the window only a clinician may book, with a reason.
    4. Insert the booking; the partial unique constraint backs up "one active booking per dose".
    """
    course = _lock_course(dose.course)
    slot = Slot.objects.select_for_update().select_related("unit").get(pk=slot.pk)
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
        raise SlotUnavailable(f"The unit is closed on {slot_day:%A %d %B}: {closed}.")
    taken = Booking.objects.active().filter(slot=slot).count()
    if taken >= slot.places:
        raise SlotFull(f"{slot} is full ({slot.places} of {slot.places} places booked).")
    same_day = (
        Booking.objects.active()
        .filter(dose__course__patient=course.patient)
        .filter(slot__in=Slot.objects.on_day(unit, slot_day))
        .exists()
    )
    if same_day:
        raise SameDayBooking(f"{course.patient.full_name} already has a booking that day.")

    planned = {p.number: p for p in _fresh_plan(course, unit=unit, today=today)}
    this = planned.get(dose.number)
    if this is None or this.state not in _BOOKABLE_STATES:
        first = next(
            (p.number for p in planned.values() if p.state in _BOOKABLE_STATES), dose.number
        )
        raise DoseOutOfOrder(f"Book dose {first} first: doses are booked in order.")
    previous = planned.get(dose.number - 1)
    if previous is not None and slot_day <= previous.date:
        raise OutsideWindow(
            f"Dose {dose.number} must come after dose {previous.number} "
            f"({previous.date:%d %b %Y})."
        )
    if not (this.window_start <= slot_day <= this.window_end):
        when = "before it is due" if slot_day < this.window_start else "late"
        if not _can_override(booked_by):
            raise OutsideWindow(
                f"{slot_day:%d %b %Y} is {when}: dose {dose.number} is due {this.due:%d %b %Y} "
                f"(window {this.window_start:%d %b} – {this.window_end:%d %b %Y}). A clinician "
                "must book it, with a reason."
            )
        if not override_reason.strip():
            raise OutsideWindow(
                f"{slot_day:%d %b %Y} is {when} (due {this.due:%d %b %Y}): "
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
    return booking


def _lock_booking(booking: Booking) -> Booking:
    _lock_course(booking.dose.course)
    return (
        Booking.objects.select_for_update()
        .select_related("dose__course__patient", "slot__unit")
        .get(pk=booking.pk)
    )


@transaction.atomic
def cancel_booking(*, booking: Booking, reason: str, cancelled_by) -> Booking:
    booking = _lock_booking(booking)
    if not reason.strip():
        raise BookingStateError("Give a reason for cancelling.")
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()} and cannot be cancelled."
        )
    booking.status = Booking.Status.CANCELLED
    booking.cancel_reason = reason.strip()
    booking.save(update_fields=["status", "cancel_reason", "updated_at"])
    _bump_calendar_sequence(booking.dose)
    return booking


@transaction.atomic
def reschedule_booking(
    *, booking: Booking, slot: Slot, rescheduled_by, override_reason: str = ""
) -> Booking:
    """Move a booking to another slot: all or nothing. The dose keeps its calendar UID and its
    SEQUENCE goes up."""
    booking = _lock_booking(booking)
    if booking.slot_id == slot.pk:
        raise BookingStateError("The booking is already in that slot.")
    cancel_booking(booking=booking, reason="Rescheduled", cancelled_by=rescheduled_by)
    return book_dose(
        dose=booking.dose, slot=slot, booked_by=rescheduled_by, override_reason=override_reason
    )


def _check_on_the_day(booking: Booking, action: str) -> None:
    if booking.slot.local_date != timezone.localdate():
        raise BookingStateError(f"A patient can only be marked {action} on the day of the visit.")


@transaction.atomic
def mark_arrived(*, booking: Booking, marked_by) -> Booking:
    booking = _lock_booking(booking)
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}, not waiting for arrival."
        )
    _check_on_the_day(booking, "arrived")
    booking.status = Booking.Status.ARRIVED
    booking.save(update_fields=["status", "updated_at"])
    _bump_calendar_sequence(booking.dose)
    return booking


@transaction.atomic
def mark_no_show(*, booking: Booking, marked_by) -> Booking:
    """FHIR 'noshow'. The dose becomes due again (overdue: as soon as possible, DESIGN §2)."""
    booking = _lock_booking(booking)
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}, not waiting for arrival."
        )
    if booking.slot.local_date > timezone.localdate():
        raise BookingStateError("A patient can only be marked as not attending on or after the day.")
    booking.status = Booking.Status.NOSHOW
    booking.save(update_fields=["status", "updated_at"])
    _bump_calendar_sequence(booking.dose)
    return booking


@transaction.atomic
def record_administration(
    *, dose: Dose, given_at: datetime, recorded_by, **details
) -> Dose:
    """Record that a dose was given: 100 mg/15 mL intrathecal bolus by lumbar puncture (US PI
    §2.2). The next dose is then counted from this date (EU SmPC 4.2).

    `details` are the procedure record: operator, needle, imaging, csf_removed_ml, vial_batch,
    vial_expiry, notes.
    """
    course = _lock_course(dose.course)
    dose = Dose.objects.select_for_update().get(pk=dose.pk)
    if dose.given_at:
        raise BookingError(f"Dose {dose.number} was already recorded as given.")
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseNotActive(f"Treatment is {course.get_status_display().lower()}.")
    given_on = timezone.localdate(given_at)
    blockers = course.patient.treatment_blockers(on=given_on)
    if blockers:
        raise NotEligible("Cannot record the dose: " + " ".join(blockers))
    if given_at > timezone.now():
        raise BookingError("The time given cannot be in the future.")
    expiry = details.get("vial_expiry")
    if expiry and expiry < given_on:
        raise BookingError("The vial had expired on that date: check the batch and expiry.")
    planned = {p.number: p for p in _fresh_plan(course, unit=Unit.current(), today=given_on)}
    this = planned.get(dose.number)
    if this is None or this.state == engine.DoseState.PLANNED:
        raise DoseOutOfOrder(f"Dose {dose.number - 1} must be recorded first.")
    previous = planned.get(dose.number - 1)
    if previous is not None and given_on <= previous.date:
        raise BookingError(
            f"Dose {dose.number} cannot be given on or before dose {previous.number} "
            f"({previous.date:%d %b %Y})."
        )
    for field, value in details.items():
        setattr(dose, field, value)
    dose.given_at = given_at
    dose.given_by = recorded_by
    dose.save()
    dose.bookings.active().update(status=Booking.Status.FULFILLED, updated_at=timezone.now())
    _bump_calendar_sequence(dose)
    return dose
