"""Writes that touch several rows. Each is keyword-only, atomic, validates, and raises a
`ServiceError` subclass whose message a nurse can read.

Lock order, everywhere: the course row first, then the slot row. Locking the course serialises
everything that happens to one patient's schedule (same-day rule, the dose chain); locking the
slot serialises the capacity count. With SQLite the IMMEDIATE transaction mode serialises writers
instead (see settings).
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from patients.models import Patient
from schedules import engine, planning
from schedules.models import (
    Booking,
    ClinicianRequest,
    CourseEvent,
    Dose,
    Slot,
    TreatmentCourse,
    Unit,
    UnitCalendar,
)
from tofersen_scheduler.dates import format_day


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
    return TreatmentCourse.objects.select_for_update().select_related("patient").get(pk=course.pk)


def _bump_calendar_sequence(dose: Dose) -> None:
    """iCalendar SEQUENCE goes up whenever the appointment's time or status changes
    (RFC 5545 §3.8.7.4)."""
    Dose.objects.filter(pk=dose.pk).update(
        calendar_sequence=F("calendar_sequence") + 1, updated_at=timezone.now()
    )


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
    if (
        TreatmentCourse.objects.filter(patient=patient)
        .exclude(status=TreatmentCourse.Status.STOPPED)
        .exists()
    ):
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


@transaction.atomic
def withdraw_consent(*, consent, withdrawn_on: date) -> int:
    """Record a consent's withdrawal and cancel the patient's future bookings, which can no
    longer go ahead (DESIGN §2: no dose is booked or given without both consents). Returns
    how many bookings were cancelled.

    The patient's open course is locked first, as `book_dose` does, so a booking being made
    at the same moment either finishes before the withdrawal or sees it and is refused.
    """
    courses = list(
        TreatmentCourse.objects.select_for_update()
        .filter(patient_id=consent.patient_id)
        .exclude(status=TreatmentCourse.Status.STOPPED)
    )
    consent = type(consent).objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_on is not None:
        raise ServiceError(
            f"This consent was already withdrawn on {format_day(consent.withdrawn_on)}."
        )
    if withdrawn_on < consent.signed_on:
        raise ServiceError("Consent cannot be withdrawn before it was signed.")
    if withdrawn_on > timezone.localdate():
        raise ServiceError("The date cannot be in the future.")
    consent.withdrawn_on = withdrawn_on
    consent.save(update_fields=["withdrawn_on"])
    return sum(
        _cancel_future_bookings(course, f"{consent.get_kind_display()} withdrawn")
        for course in courses
    )


def _check_event_date(course: TreatmentCourse, on: date) -> None:
    if on < course.start_date:
        raise CourseError("The date cannot be before the course started.")
    if on > timezone.localdate():
        raise CourseError("The date cannot be in the future.")
    last = course.events.order_by("-on").first()
    if last and on < last.on:
        raise CourseError(f"The date cannot be before the last change ({format_day(last.on)}).")


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
    _check_event_date(course, on)
    CourseEvent.objects.create(
        course=course,
        kind=kind,
        on=on,
        reason=reason,
        reason_detail=reason_detail.strip(),
        **fields,
    )
    course.status = {
        CourseEvent.Kind.PAUSE: TreatmentCourse.Status.PAUSED,
        CourseEvent.Kind.RESUME: TreatmentCourse.Status.ACTIVE,
        CourseEvent.Kind.STOP: TreatmentCourse.Status.STOPPED,
    }[kind]
    course.save(update_fields=["status"])


@transaction.atomic
def pause_course(*, course, on: date, reason: str, reason_detail: str = "", recorded_by) -> int:
    """Pause treatment and cancel future bookings (DESIGN §2). Returns how many were cancelled.

    Reasons from the labels' warnings: side effects; respiratory or spinal changes that make
    the lumbar puncture unsafe (US PI §5; EU SmPC 4.4).
    """
    course = _lock_course(course)
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseError(f"Only an active course can be paused; this one is {course.status}.")
    _record_decision(
        course,
        kind=CourseEvent.Kind.PAUSE,
        on=on,
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
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
    _record_decision(
        course,
        kind=CourseEvent.Kind.RESUME,
        on=on,
        restart_loading=restart_loading,
        recorded_by=recorded_by,
    )


@transaction.atomic
def stop_course(*, course, on: date, reason: str, reason_detail: str = "", recorded_by) -> int:
    """Stop treatment: the course is closed and future bookings are cancelled (DESIGN §2)."""
    course = _lock_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise CourseError("This course is already stopped.")
    _record_decision(
        course,
        kind=CourseEvent.Kind.STOP,
        on=on,
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    return _cancel_future_bookings(course, "Treatment stopped")


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


@transaction.atomic
def book_dose(*, dose: Dose, slot: Slot, booked_by, override_reason: str = "") -> Booking:
    """Book `dose` into `slot`.

    1. Lock the course (one patient's schedule changes one at a time), then the slot.
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
    slot = (
        Slot.objects.select_for_update(of=("self",))
        .select_related("unit", "template")
        .get(pk=slot.pk)
    )
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
    if not slot.places or (slot.template is not None and not slot.template.active):
        raise SlotUnavailable(f"{slot} is no longer offered; choose another slot.")
    taken = Booking.objects.active().filter(slot=slot).count()
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
        raise BookingError(f"The schedule needs checking by a clinician: {error}") from None
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
    return booking


@transaction.atomic
def book_dose_number(
    *, course: TreatmentCourse, number: int, slot: Slot, booked_by, override_reason: str = ""
) -> Booking:
    """Book dose `number` of `course`, creating its Dose row in the same transaction, so a
    refused booking leaves nothing behind. A replay of the same booking (a double click)
    returns the existing booking instead of failing."""
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
    """
    if not choices:
        raise BookingError("Choose at least one slot to book.")
    numbers = [number for number, _ in choices]
    if len(set(numbers)) != len(numbers):
        raise BookingError("Each dose can only be booked once.")
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


def _lock_booking(booking: Booking) -> Booking:
    _lock_course(booking.dose.course)
    return (
        Booking.objects.select_for_update()
        .select_related("dose__course__patient", "slot__unit")
        .get(pk=booking.pk)
    )


def _cancel(booking: Booking, reason: str) -> None:
    booking.status = Booking.Status.CANCELLED
    booking.cancel_reason = reason
    booking.save(update_fields=["status", "cancel_reason", "updated_at"])
    _bump_calendar_sequence(booking.dose)


@transaction.atomic
def cancel_booking(*, booking: Booking, reason: str, cancelled_by) -> Booking:
    """Cancel a booking with a reason.

    A booking with a later dose booked after it cannot be cancelled on its own: the later
    dose is counted from this one (EU SmPC 4.2), so the nurse moves or cancels it first.
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
    return booking


@transaction.atomic
def reschedule_booking(
    *, booking: Booking, slot: Slot, rescheduled_by, override_reason: str = ""
) -> Booking:
    """Move a booking to another slot: all or nothing. The dose keeps its calendar UID and its
    SEQUENCE goes up. Later bookings stay where they are; if the move puts them outside their
    window they are flagged on the Overdue & rebook list, never moved silently.

    Replaying the same move (a double click) returns the booking it made.
    """
    booking = _lock_booking(booking)
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
    _cancel(booking, "Rescheduled")
    return book_dose(
        dose=booking.dose, slot=slot, booked_by=rescheduled_by, override_reason=override_reason
    )


def _check_on_the_day(booking: Booking, action: str) -> None:
    if booking.slot.local_date != timezone.localdate():
        raise BookingStateError(f"A patient can only be marked {action} on the day of the visit.")


@transaction.atomic
def mark_arrived(*, booking: Booking, marked_by) -> Booking:
    """Booked → arrived, on the day. Marking it twice (a double click) changes nothing."""
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
    _bump_calendar_sequence(booking.dose)
    return booking


@transaction.atomic
def mark_no_show(*, booking: Booking, marked_by) -> Booking:
    """FHIR 'noshow'. The dose becomes due again (overdue: as soon as possible, DESIGN §2).

    Bookings of later doses are cancelled with a reason: they were counted from a dose that
    was not given, so they would be too early (EU SmPC 4.2). They are listed in
    `booking.cancelled_later` for the message to the nurse, and the doses come back on the
    worklists once the missed dose is rebooked.
    """
    booking = _lock_booking(booking)
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
    later = list(
        Booking.objects.active()
        .filter(dose__course=booking.dose.course, dose__number__gt=booking.dose.number)
        .select_related("dose", "slot__unit")
        .order_by("dose__number")
    )
    for other in later:
        _cancel(other, f"Dose {booking.dose.number} was missed: rebook after it is given.")
    booking.cancelled_later = later
    return booking


@transaction.atomic
def record_administration(*, dose: Dose, given_at: datetime, recorded_by, **details) -> Dose:
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
    fresh = planning.fresh_plan(course, unit=Unit.current(), today=given_on)
    planned = {p.number: p for p in fresh}
    this = planned.get(dose.number)
    if this is None or this.state == engine.DoseState.PLANNED:
        raise DoseOutOfOrder(f"Dose {dose.number - 1} must be recorded first.")
    previous = planned.get(dose.number - 1)
    if previous is not None and given_on <= previous.date:
        raise BookingError(
            f"Dose {dose.number} cannot be given on or before dose {previous.number} "
            f"({format_day(previous.date)})."
        )
    for field, value in details.items():
        setattr(dose, field, value)
    dose.given_at = given_at
    dose.given_by = recorded_by
    dose.save()
    dose.bookings.active().update(status=Booking.Status.FULFILLED, updated_at=timezone.now())
    _bump_calendar_sequence(dose)
    return dose


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


@transaction.atomic
def generate_slots(*, unit: Unit, start: date | None = None, weeks: int | None = None):
    """Make the unit's future slots match its session templates and closures. Idempotent.

    1. Lock the unit, so two runs (the nightly command, a nurse's button) do not interleave.
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
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    today = timezone.localdate()
    first = max(start or today, today)
    weeks = unit.horizon_weeks if weeks is None else weeks
    if not 1 <= weeks <= MAX_GENERATE_WEEKS:
        raise ServiceError(f"Generate between 1 and {MAX_GENERATE_WEEKS} weeks of slots.")
    last = first + timedelta(weeks=weeks) - timedelta(days=1)
    calendar = unit.calendar(first, last)
    now = timezone.now()
    wanted = _wanted_slots(unit, calendar, first, last, now)

    # Claim the future slots first (a locking read cannot carry the booked-count aggregate),
    # so a booking being made meanwhile finishes before its slot is withdrawn or deleted.
    list(
        Slot.objects.select_for_update()
        .between(unit, first, last)
        .filter(start__gt=now)
        .values_list("pk", flat=True)
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
