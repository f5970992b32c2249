"""Booking: a dose into a slot, moved or cancelled; a dose handed to a clinician to book.

The lowest capability: the course and visit services build on it, it imports neither. Its
shared pieces: `dose_for`, `cancel_bookings` (the one way a booking is cancelled),
`bump_calendar_sequence`, `can_override`, `not_active_message` and `check_preview`. Locks are
taken in the order of `schedules.locks`.
"""

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from schedules import engine, locks, notices, outlook, planning, rules
from schedules.errors import (
    AlreadyBooked,
    BookingError,
    BookingStateError,
    CourseNotActive,
    DoseOutOfOrder,
    NoBed,
    NoImaging,
    NoOperator,
    NotEligible,
    OutsideWindow,
    PreviewChanged,
    SameDayBooking,
    SlotFull,
    SlotUnavailable,
)
from schedules.messaging import outbox
from schedules.models import (
    Booking,
    ClinicianRequest,
    Dose,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
    WaitlistEntry,
)
from schedules.retry import retry_when_busy
from schedules.unit import resources
from tofersen_scheduler.dates import format_day


def check_preview(course: TreatmentCourse, change, previewed: str | None) -> None:
    """Hazard H30, under the course lock (lock order step 1), so no other write can change
    what the change will do between this check and the change itself: the preview is worked
    out again from the facts as they are now and must be the one the user confirmed (its
    fingerprint, which the page posted back). `previewed=None` is a caller that shows no
    preview (a test, a command); a page always passes what was posted, "" when nothing was."""
    if previewed is None:
        return
    if not planning.preview_confirmed(planning.preview_change(course, change=change), previewed):
        raise PreviewChanged(PreviewChanged.MESSAGE)


def bump_calendar_sequence(dose: Dose, *, by) -> None:
    """iCalendar SEQUENCE goes up whenever the appointment's time or status changes
    (RFC 5545 §3.8.7.4). Saved through the model, so the change leaves a history row; callers
    hold the course lock, so the read-increment-write cannot race. `by`: who made the change,
    for the dose's history (every clinical write names who, H15)."""
    fresh = Dose.objects.get(pk=dose.pk)
    fresh.calendar_sequence += 1
    fresh._history_user = by
    fresh.save(update_fields=["calendar_sequence", "updated_at"])
    dose.calendar_sequence = fresh.calendar_sequence


def cancel_bookings(bookings, reason: str, *, by, no_show: Booking | None = None) -> None:
    """Cancel each booking with `reason` (their course, slots and rows already locked). A
    booking cancelled because an earlier dose was marked 'did not attend' stores that booking
    in `cancelled_by_no_show`, which is what undoing it books again; any other cancellation
    clears the link."""
    for booking in bookings:
        booking.status = Booking.Status.CANCELLED
        booking.cancel_reason = reason
        booking.cancelled_by_no_show = no_show
        booking._history_user = by
        booking.save(
            update_fields=["status", "cancel_reason", "cancelled_by_no_show", "updated_at"]
        )
        bump_calendar_sequence(booking.dose, by=by)
    # Their reminders and notices not yet sent have lost their reason (issue 18 §2, H68).
    outbox.withdraw_for_bookings(bookings)


def dose_for(*, course: TreatmentCourse, number: int, by=None) -> Dose:
    """The Dose row for a course's dose number, created the first time something happens to it
    (by `by`, named in its history). The caller holds the course lock."""
    dose = Dose.objects.filter(course=course, number=number).first()
    if dose is None:
        dose = Dose(course=course, number=number)
        dose._history_user = by
        dose.save()
    return dose


def can_override(user) -> bool:
    return user.has_perm(rules.OVERRIDE_PERMISSION)


def not_active_message(course: TreatmentCourse) -> str:
    if course.status == TreatmentCourse.Status.HELD:
        return (
            "Treatment is on hold for clinical review: a clinician must record the review "
            "decision first."
        )
    return f"Treatment is {course.get_status_display().lower()}."


def _later_booking(course: TreatmentCourse, number: int) -> Booking | None:
    """The first active booking of a later dose of the same course."""
    return (
        Booking.objects.later_active(course, number)
        .select_related("dose", "slot__unit")
        .order_by("dose__number")
        .first()
    )


# The refusals of `book_dose`, in the order it checks them (its step 2 and 3).


def check_dose_open(dose: Dose) -> None:
    """Not already booked, not already given."""
    existing = dose.bookings.active().select_related("slot__unit").first()
    if existing is not None:
        raise AlreadyBooked(
            f"Dose {dose.number} is already booked for {existing.slot}.", booking=existing
        )
    if dose.given_at:
        raise BookingError(f"Dose {dose.number} has already been given.")


def check_course_bookable(course: TreatmentCourse, slot_day) -> None:
    """The course is active and the patient eligible on the day (SOD1, both consents)."""
    if course.status != TreatmentCourse.Status.ACTIVE:
        if course.status == TreatmentCourse.Status.HELD:
            raise CourseNotActive(not_active_message(course))
        raise CourseNotActive(
            f"Treatment is {course.get_status_display().lower()}: a clinician must resume it "
            "before a dose can be booked."
        )
    blockers = course.patient.treatment_blockers(on=slot_day)
    if blockers:
        raise NotEligible("Cannot book: " + " ".join(blockers))


def check_slot_open(slot: Slot) -> None:
    """Not started, the unit open that day, the slot still offered and not full."""
    slot_day = slot.local_date
    if slot.start <= timezone.now():
        raise SlotUnavailable("That slot has already started; choose a later one.")
    closed = slot.unit.calendar(slot_day, slot_day).closure_reason(slot_day)
    if closed:
        raise SlotUnavailable(f"The unit is closed on {format_day(slot_day)}: {closed}.")
    if not slot.places or (slot.template is not None and not slot.template.active):
        raise SlotUnavailable(f"{slot} is no longer offered; choose another slot.")
    taken = Booking.objects.holding_places().filter(slot=slot).count()
    if taken >= slot.places:
        places = f"{slot.places} place{'' if slot.places == 1 else 's'}"
        raise SlotFull(f"{slot} is full ({places}, {taken} booked): choose another slot.")


RESOURCE_ERRORS = {"bed": NoBed, "operator": NoOperator, "imaging": NoImaging}


def check_resources(slot: Slot, patient) -> None:
    """A bed free over the visit's length, an operator free on the rota, and for a patient who
    needs image guidance an imaging list and an image-guided operator (issue 19; the rules in
    `schedules.unit.resources`). The caller holds every slot of the session (lock order 2)."""
    refusal = resources.booking_refusal(slot, patient)
    if refusal is not None:
        raise RESOURCE_ERRORS[refusal.resource](refusal.message)


def check_operator(booking: Booking, operator) -> None:
    """Only someone on the session's rota whose competency is valid on the visit's day (and
    image-guided for a patient who needs it) performs the lumbar puncture (issue 19 item 2)."""
    refusal = resources.operator_refusal(booking, operator)
    if refusal is not None:
        raise NoOperator(refusal)


def check_no_same_day_booking(course: TreatmentCourse, slot: Slot) -> None:
    same_day = (
        Booking.objects.active()
        .filter(dose__course__patient=course.patient)
        .filter(slot__in=Slot.objects.on_day(slot.unit, slot.local_date))
        .exists()
    )
    if same_day:
        raise SameDayBooking(f"{course.patient.full_name} already has a booking that day.")


def check_dose_in_order(course: TreatmentCourse, dose: Dose, slot: Slot):
    """The engine's plan of the doses before this one: this dose is the next to book, after
    the previous dose and before a later dose's booking. Returns this dose's planned entry."""
    slot_day = slot.local_date
    try:
        fresh = planning.fresh_plan(
            course, unit=slot.unit, today=timezone.localdate(), before=dose.number
        )
    except engine.ScheduleError as error:
        raise BookingError(planning.PROBLEM.format(error=error)) from None
    planned = {p.number: p for p in fresh}
    this = planned.get(dose.number)
    if this is None or this.state not in planning.BOOKABLE_STATES:
        first = next(
            (p.number for p in planned.values() if p.state in planning.BOOKABLE_STATES), dose.number
        )
        raise DoseOutOfOrder(f"Book dose {first} first: doses are booked in order.")
    check_after_previous(planned.get(dose.number - 1), dose, slot_day)
    later = _later_booking(course, dose.number)
    if later is not None and slot_day >= later.local_date:
        raise OutsideWindow(
            f"Dose {dose.number} must come before dose {later.dose.number}, booked for "
            f"{later.slot}: move dose {later.dose.number} first."
        )
    return this


def check_after_previous(previous, dose: Dose, slot_day) -> None:
    """Never on or before the previous dose's date, even by a clinician with a reason: the
    labels' interval is counted from the dose given (EU SmPC 4.2)."""
    if previous is not None and slot_day <= previous.date:
        raise OutsideWindow(
            f"Dose {dose.number} must come after dose {previous.number} "
            f"({format_day(previous.date)})."
        )


def check_in_window(this, dose: Dose, slot: Slot, booked_by, override_reason: str) -> None:
    """Inside the dose's window, or booked by a clinician with a reason."""
    slot_day = slot.local_date
    if this.window_start <= slot_day <= this.window_end:
        return
    when = "before it is due" if slot_day < this.window_start else "late"
    if not can_override(booked_by):
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


def check_same_day_retry(dose: Dose, slot: Slot, booked_by, override_reason: str) -> None:
    """No same-day retry after illness or failed checks without a clinician with a reason
    (DESIGN §2; the rule is `Visit.same_day_retry_blocker`, written once with the visit)."""
    blocker = Visit.same_day_retry_blocker(dose, slot.local_date)
    if blocker and not (can_override(booked_by) and override_reason.strip()):
        raise SameDayBooking(blocker)


@retry_when_busy
@transaction.atomic
def book_dose(
    *, dose: Dose, slot: Slot, booked_by, override_reason: str = "", operator=None
) -> Booking:
    """Book `dose` into `slot` (`_book_dose`), and write the patient's "booked" message and
    reminders to the outbox in the same transaction (issue 18 §2)."""
    booking = _book_dose(
        dose=dose,
        slot=slot,
        booked_by=booked_by,
        override_reason=override_reason,
        operator=operator,
    )
    outbox.booking_made(booking)
    return booking


def _book_dose(
    *, dose: Dose, slot: Slot, booked_by, override_reason: str = "", operator=None
) -> Booking:
    """Book `dose` into `slot`, in the caller's transaction.

    1. Lock the course (one patient's schedule changes one at a time), then the slot and the
       other slots of its session, by id (its places, and the session's beds and operators).
       Inserting the booking takes a key-share lock on the slot and the dose.
    2. Refuse what is unsafe or impossible: a dose already booked or given
       (`check_dose_open`), a course that is not active, a patient without SOD1 confirmation
       or consents (`check_course_bookable`), an open serious event on any of the patient's
       courses or a dose within 14 days of one given on another course without a clinician's
       reason (`rules.check_booking`, DESIGN §2 "Rules belong to the patient"), a slot in
       the past, on a closed day, no longer offered or full (`check_slot_open`), a second
       booking the same day (`check_no_same_day_booking`) or a same-day retry after illness
       or failed checks without a clinician (`check_same_day_retry`), a dose booked before
       the doses ahead of it, or on or after a later dose's booking (`check_dose_in_order`).
    3. Ask the engine for the dose's window (unit policy around the due date, DESIGN §2),
       counted from the doses before it only. The labels give no tolerance: outside the window
       only a clinician may book, with a reason (`check_in_window`).
    4. Insert the booking; the partial unique constraint backs up "one active booking per dose".
       `operator`, when given, must pass `check_operator` (on the rota, competent that day).
    """
    course = locks.lock_course(dose.course)
    slot = locks.lock_session_slots([slot.pk])[slot.pk]
    dose = Dose.objects.get(pk=dose.pk)

    check_dose_open(dose)
    check_course_bookable(course, slot.local_date)
    rules.check_booking(
        course=course, on=slot.local_date, booked_by=booked_by, override_reason=override_reason
    )
    check_slot_open(slot)
    check_resources(slot, course.patient)
    check_no_same_day_booking(course, slot)
    check_same_day_retry(dose, slot, booked_by, override_reason)
    this = check_dose_in_order(course, dose, slot)
    check_in_window(this, dose, slot, booked_by, override_reason)

    try:
        with transaction.atomic():
            booking = Booking(
                dose=dose,
                slot=slot,
                booked_by=booked_by,
                override_reason=override_reason.strip(),
            )
            if operator is not None:
                check_operator(booking, operator)
                booking.operator = operator
            booking._history_user = booked_by
            booking.save()
    except IntegrityError:
        existing = dose.bookings.active().select_related("slot__unit").first()
        raise AlreadyBooked(f"Dose {dose.number} is already booked.", booking=existing) from None
    if dose.bookings.exclude(pk=booking.pk).exists():
        bump_calendar_sequence(dose, by=booked_by)
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
    course = locks.lock_course(course)
    dose = dose_for(course=course, number=number, by=booked_by)
    try:
        return book_dose(dose=dose, slot=slot, booked_by=booked_by, override_reason=override_reason)
    except AlreadyBooked as error:
        if error.booking is not None and error.booking.slot_id == slot.pk:
            return error.booking
        raise


def _prefixed(
    error: BookingError, prefix: str, outcome: str = "Nothing was booked."
) -> BookingError:
    message = f"{prefix}{error} {outcome}"
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
    locks.lock_course(course)
    locks.lock_session_slots(slot.pk for _, slot in choices)
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


@retry_when_busy
@transaction.atomic
def cancel_booking(*, booking: Booking, reason: str, cancelled_by) -> Booking:
    """Cancel a booking with a reason.

    A booking with a later dose booked after it cannot be cancelled on its own: the later
    dose is counted from this one (EU SmPC 4.2), so the nurse moves or cancels it first.

    Locks: the course, the booking's slot, the booking.
    """
    booking = locks.lock_booking(booking)
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
    cancel_bookings([booking], reason.strip(), by=cancelled_by)
    outbox.booking_cancelled(booking)
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
    `check_preview`.

    Locks: the course, then the old and the new slot by id, then the booking.
    """
    booking = locks.lock_booking(booking, also_slots=locks.session_slot_ids([slot.pk]))
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
    check_preview(booking.dose.course, planning.Reschedule(booking, slot), previewed)
    cancel_bookings([booking], "Rescheduled", by=rescheduled_by)
    moved = _book_dose(
        dose=booking.dose, slot=slot, booked_by=rescheduled_by, override_reason=override_reason
    )
    outbox.booking_made(moved, moved=True)
    if moved.slot.start < booking.slot.start:
        # Moved earlier: they no longer wait for an earlier date (issue 19 item 5).
        WaitlistEntry.objects.filter(patient_id=booking.dose.course.patient_id).delete()
    return moved


@retry_when_busy
@transaction.atomic
def ask_clinician(
    *, course: TreatmentCourse, number: int, slot: Slot | None, note: str = "", asked_by
) -> ClinicianRequest:
    """A nurse hands a dose to a clinician to book (a date past the window needs one).

    1. Lock the course (lock order: course first), so the request and a booking of the same
       dose cannot interleave.
    2. Refuse a dose already given or booked: there is nothing left to ask.
    3. Refuse anything but the real next dose of an active course (issue 20: "dose 1000" of a
       stopped course was accepted and said to be listed where it never was). Overdue &
       rebook lists a request only while its dose is the course's next dose to book
       (`selectors.clinician_requests`), so that is all that may be asked.
    4. One request per dose: asking again updates the slot, the note and who asked.
    """
    course = locks.lock_course(course)
    dose = Dose.objects.filter(course=course, number=number).first()
    if dose is not None and dose.given_at is not None:
        raise BookingError(f"Dose {number} has already been given.")
    if Booking.objects.active().filter(dose__course=course, dose__number=number).exists():
        raise BookingError(f"Dose {number} is already booked: nothing to ask a clinician.")
    check_next_dose_to_ask(course, number)
    if slot is not None and slot.unit_id is None:
        slot = None
    request, _ = ClinicianRequest.objects.update_or_create(
        course=course,
        dose_number=number,
        defaults={"slot": slot, "note": note.strip()[:300], "asked_by": asked_by},
    )
    notices.clinician_asked(request, by=asked_by)
    return request


def check_next_dose_to_ask(course: TreatmentCourse, number: int) -> None:
    """The dose a clinician is asked to book is the course's next dose to book (DUE or
    OVERDUE in the engine's plan) and the course is active: a held, paused or stopped course
    has nothing to book until a clinician decides (DESIGN §2)."""
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise BookingError(
            "Nothing was sent to a clinician: this course is "
            f"{course.get_status_display().lower()}, so no dose can be booked for it."
        )
    try:
        fresh = planning.fresh_plan(course, unit=Unit.current(), today=timezone.localdate())
    except engine.ScheduleError as error:
        raise BookingError(planning.PROBLEM.format(error=error)) from None
    pending = next((p for p in fresh if p.state in planning.BOOKABLE_STATES), None)
    if pending is None or pending.number != number:
        next_one = f"dose {pending.number}" if pending else "no dose"
        raise BookingError(
            f"Nothing was sent to a clinician: dose {number} is not the next dose to book "
            f"for {course.patient.full_name} ({next_one} is)."
        )


@retry_when_busy
@transaction.atomic
def set_admit_day_before(*, booking: Booking, admit_day_before: bool, changed_by) -> Booking:
    """Say whether the patient is admitted the day before the dose (the patient leaflet allows
    it; DESIGN §2 "After"). Shown on the booking, the letter and the feed event.

    Only for a visit still booked whose day has not come (the admission is the evening
    before); the feed event's SEQUENCE goes up so calendars show the change. Setting it to what
    it already is changes nothing.

    Locks: the course, the booking's slot, the booking, then the dose (calendar sequence).
    """
    booking = locks.lock_booking(booking)
    admit_day_before = bool(admit_day_before)
    if booking.admit_day_before == admit_day_before:
        return booking
    if booking.status != Booking.Status.BOOKED or booking.local_date <= timezone.localdate():
        raise BookingStateError(
            "Admission the day before can only be changed for a visit still booked for a later day."
        )
    booking.admit_day_before = admit_day_before
    booking._history_user = changed_by
    booking.save(update_fields=["admit_day_before", "updated_at"])
    bump_calendar_sequence(booking.dose, by=changed_by)
    return booking


@retry_when_busy
@transaction.atomic
def assign_operator(*, booking: Booking, operator, assigned_by) -> Booking:
    """Say who performs a booking's lumbar puncture, at booking or on the day (issue 19 item
    2), or clear it (`operator=None`).

    1. Lock the course, the booking's slot, the booking (lock order).
    2. Refuse a visit no longer booked or arrived, and an operator not on the session's rota,
       without a competency valid on the visit's day (image-guided for a patient who needs
       it), or already with a patient in the slot (`check_operator`; the partial unique
       constraint `booking_operator_once_per_slot` backs the last one up).
    """
    booking = locks.lock_booking(booking)
    if booking.status not in Booking.ACTIVE_STATUSES:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}: its operator can no "
            "longer be changed."
        )
    if operator is not None:
        check_operator(booking, operator)
    if booking.operator_id == (operator.pk if operator else None):
        return booking
    booking.operator = operator
    booking._history_user = assigned_by
    try:
        with transaction.atomic():
            booking.save(update_fields=["operator", "updated_at"])
    except IntegrityError:
        raise NoOperator("That operator already has a patient in this slot.") from None
    return booking
