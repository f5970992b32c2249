"""The visit: arrival, 'did not attend' and their undo, the pre-dose checks and a clinician's
clearance, a visit ended without the dose, observation and discharge. The follow-up call is
`schedules.visits.follow_up`.
Recording the dose itself is `schedules.visits.administration`; adverse events are
`schedules.visits.safety`. Builds on `schedules.booking.services`; locks in the order of
`schedules.locks`.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from schedules import locks, notices, outlook
from schedules.booking.services import (
    bump_calendar_sequence,
    can_override,
    cancel_bookings,
    not_active_message,
)
from schedules.errors import BookingStateError, EarlyDischarge, VisitError
from schedules.messaging import outbox
from schedules.models import Booking, TreatmentCourse, Visit
from schedules.retry import retry_when_busy
from schedules.unit import resources


def _check_on_the_day(booking: Booking, action: str) -> None:
    if booking.slot.local_date != timezone.localdate():
        raise BookingStateError(f"A patient can only be marked {action} on the day of the visit.")


@retry_when_busy
@transaction.atomic
def mark_arrived(*, booking: Booking, marked_by) -> Booking:
    """Booked → arrived, on the day. Marking it twice (a double click) changes nothing.

    Locks: the course, the booking's slot, the booking."""
    booking = locks.lock_booking(booking)
    if booking.status == Booking.Status.ARRIVED:
        return booking
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()}, not waiting for arrival."
        )
    _check_on_the_day(booking, "arrived")
    booking.status = Booking.Status.ARRIVED
    booking._history_user = marked_by
    booking.save(update_fields=["status", "updated_at"])
    _visit_for(booking, by=marked_by)
    bump_calendar_sequence(booking.dose, by=marked_by)
    return booking


@retry_when_busy
@transaction.atomic
def mark_no_show(*, booking: Booking, marked_by) -> Booking:
    """FHIR 'noshow'. The dose becomes due again (overdue: as soon as possible, DESIGN §2).

    Bookings of later doses are cancelled with a reason: they were counted from a dose that
    was not given, so they would be too early (EU SmPC 4.2). Each stores this booking in
    `cancelled_by_no_show`, the link `undo_no_show` reads (never the wording of the reason).
    They are listed in `booking.cancelled_later` for the message to the nurse, and the doses
    come back on the worklists once the missed dose is rebooked.

    Locks: the course, then the slots of this booking and of the later ones by id, then the
    bookings.
    """
    booking = locks.lock_booking_with_later(booking)
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
    booking._history_user = marked_by
    booking.save(update_fields=["status", "updated_at"])
    bump_calendar_sequence(booking.dose, by=marked_by)
    later = _cancel_later_bookings(
        booking, _missed_reason(booking.dose.number), by=marked_by, no_show=booking
    )
    booking.cancelled_later = later
    outbox.missed(booking)  # "please call us to rebook" (issue 18 §2)
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
    booking = locks.lock_booking(booking)
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
    bump_calendar_sequence(booking.dose, by=undone_by)
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
    locks.lock_course_of(booking)
    # The bookings this 'did not attend' cancelled, by the link `mark_no_show` stored on them.
    cancelled = Booking.objects.filter(
        cancelled_by_no_show=booking.pk, status=Booking.Status.CANCELLED
    )
    # Every slot of the sessions involved (lock order step 2): a restored booking takes a bed
    # and an operator of its session again (issue 19).
    booking = locks.lock_booking(
        booking,
        also_slots=locks.session_slot_ids(
            [booking.slot_id, *cancelled.values_list("slot_id", flat=True)]
        ),
    )
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
            f"{not_active_message(course)} 'Did not attend' can no longer be undone."
        )
    later = locks.lock_bookings(cancelled.values("pk"))
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
        refusal = resources.booking_refusal(restored.slot, course.patient)
        if refusal is not None:
            raise BookingStateError(
                f"{refusal.message} So 'did not attend' cannot be undone for dose {number}: "
                "nothing was changed."
            )
    for restored in [booking, *later]:
        restored.status = Booking.Status.BOOKED
        restored.cancel_reason = ""
        restored.cancelled_by_no_show = None
        if (
            restored.operator_id
            and Booking.objects.active()
            .filter(slot=restored.slot_id, operator=restored.operator_id)
            .exists()
        ):
            restored.operator = None  # their operator has another patient in that slot now
        restored._history_user = undone_by
        restored._change_reason = "'Did not attend' undone"
        restored.save(
            update_fields=[
                "status",
                "cancel_reason",
                "cancelled_by_no_show",
                "operator",
                "updated_at",
            ]
        )
        bump_calendar_sequence(restored.dose, by=undone_by)
    booking.restored_later = later
    outlook.refresh_next_due(course)
    return booking


def _visit_for(booking: Booking, *, by) -> Visit:
    visit = booking.visit_or_none
    if visit is None:
        visit = Visit(booking=booking, arrived_at=timezone.now())
        visit._history_user = by
        visit.save()
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
    fever: bool = False,
) -> Visit:
    """Save the pre-dose checks (DESIGN §2 "Before"; patient leaflet), on the visit's day.
    Consents are read from the record, not typed.

    1. Identity confirmed and the blood sample taken are required (the leaflet: a blood test
       at every visit); the pregnancy question must be answered for a patient who could be
       pregnant.
    2. A 'yes' to a new symptom, a fever, or pregnancy or breastfeeding stops the checks until
       a clinician decides (`clear_checks`). Saving the checks again keeps what was said
       (`_keep_what_was_said`): a 'yes', or a clotting test asked for, stands until a
       clinician has recorded a decision.
    """
    booking = locks.lock_booking(booking)
    if booking.status != Booking.Status.ARRIVED:
        raise VisitError(
            f"This booking is {booking.get_status_display().lower()}: the checks are done "
            "after the patient has arrived."
        )
    if booking.local_date != timezone.localdate():
        raise VisitError(
            "The pre-dose checks are recorded on the visit's day. For a visit on another day, "
            "record it as not given, or a clinician records the dose given elsewhere."
        )
    patient = booking.dose.course.patient
    _check_identity_confirmed(identity_confirmed)
    if not blood_sample_taken:
        raise VisitError("Take the blood sample (one at every visit) before saving the checks.")
    _check_pregnancy_asked(patient, pregnancy)
    if pregnancy not in Visit.Pregnancy.values:
        raise VisitError("Choose an answer to the pregnancy question.")
    visit = _visit_for(booking, by=recorded_by)
    was_waiting = visit.checks_at is not None and visit.needs_clinician
    answers = {
        "symptom_headache": bool(symptom_headache),
        "symptom_neck_stiffness": bool(symptom_neck_stiffness),
        "symptom_vision": bool(symptom_vision),
        "symptom_numbness_weakness": bool(symptom_numbness_weakness),
        "fever": bool(fever),
        "pregnancy": pregnancy,
        "clotting_checked": clotting_checked,
    }
    answers = _keep_what_was_said(visit, answers)
    for name, value in answers.items():
        setattr(visit, name, value)
    visit.identity_confirmed = True
    visit.consents_on_file = not patient.treatment_blockers(on=booking.local_date)
    visit.blood_sample_taken = True
    visit.checks_by = recorded_by
    visit.checks_at = timezone.now()
    if any(answers[name] for name in Visit.STANDING_FIELDS) or pregnancy == Visit.Pregnancy.YES:
        # A 'yes' in these checks needs its own decision, even after an earlier one.
        visit.cleared_by = None
        visit.cleared_note = ""
    visit._history_user = recorded_by
    visit.save()
    if visit.needs_clinician and not was_waiting:
        # The clinicians are told once, on commit (issue 18 item 7; `schedules.notices`).
        notices.checks_stopped(booking, by=recorded_by)
    return visit


def _check_identity_confirmed(identity_confirmed: bool) -> None:
    """Identity first (DESIGN §2 "Before"; patient leaflet): the checks are not saved without."""
    if not identity_confirmed:
        raise VisitError("Confirm the patient's identity (name and date of birth) first.")


def _keep_what_was_said(visit: Visit, answers: dict) -> dict:
    """The answers to save: until a clinician has recorded a decision on this visit, a 'yes'
    given before (a new symptom, a fever, pregnancy) and a clotting test asked for stand,
    whatever the form says now (DESIGN §2: "A 'yes' ... stands until a clinician records a
    decision"; issue 17 §3)."""
    if visit.cleared_by_id or not visit.checks_at:
        return answers
    kept = dict(answers)
    for name in Visit.STANDING_FIELDS:
        kept[name] = kept[name] or getattr(visit, name)
    if visit.pregnancy == Visit.Pregnancy.YES:
        kept["pregnancy"] = Visit.Pregnancy.YES
    if visit.clotting_checked is not None and kept["clotting_checked"] is None:
        kept["clotting_checked"] = visit.clotting_checked
    return kept


def _check_pregnancy_asked(patient, pregnancy: str) -> None:
    """Asked before each dose for a patient who could be pregnant (DESIGN §2 pregnancy)."""
    if patient.could_be_pregnant and pregnancy not in (Visit.Pregnancy.NO, Visit.Pregnancy.YES):
        raise VisitError("Ask about pregnancy and breastfeeding and record the answer.")


@retry_when_busy
@transaction.atomic
def clear_checks(*, booking: Booking, cleared_by, note: str) -> Visit:
    """A clinician's decision that the dose may go ahead despite a 'yes' in the checks."""
    booking = locks.lock_booking(booking)
    visit = booking.visit_or_none
    if booking.status != Booking.Status.ARRIVED or visit is None or not visit.checks_at:
        raise VisitError("There are no pre-dose checks waiting for a decision.")
    if not note.strip():
        raise VisitError("Write the clinical decision: why the dose may go ahead.")
    if not can_override(cleared_by):
        raise VisitError("Only a clinician can decide that the dose may go ahead.")
    visit.cleared_by = cleared_by
    visit.cleared_note = note.strip()
    visit._history_user = cleared_by
    visit.save(update_fields=["cleared_by", "cleared_note", "updated_at"])
    return visit


def _cancel_later_bookings(booking: Booking, why: str, *, by, no_show=None) -> list[Booking]:
    """Cancel the bookings of later doses, counted from this one (their slots are already
    locked by `locks.lock_booking_with_later`); returns them in dose order. `no_show`: the
    booking marked 'did not attend', stored on each so that undoing it finds them."""
    later = locks.lock_bookings(
        Booking.objects.later_active(booking.dose.course, booking.dose.number).values("pk")
    )
    later.sort(key=lambda other: other.dose.number)
    cancel_bookings(later, why, by=by, no_show=no_show)
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
    booking = locks.lock_booking_with_later(booking)
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
    _check_visit_day_reached(booking)
    visit = _visit_for(booking, by=recorded_by)
    visit.not_given_reason = reason
    visit.not_given_detail = detail
    visit._history_user = booking._history_user = recorded_by
    visit.save(update_fields=["not_given_reason", "not_given_detail", "updated_at"])
    booking.status = Booking.Status.NOT_GIVEN
    booking.cancel_reason = Visit.NotGivenReason(reason).label + (f": {detail}" if detail else "")
    booking.save(update_fields=["status", "cancel_reason", "updated_at"])
    bump_calendar_sequence(booking.dose, by=recorded_by)
    booking.cancelled_later = _cancel_later_bookings(
        booking,
        f"Dose {booking.dose.number} was not given: rebook after it is given.",
        by=recorded_by,
    )
    outlook.refresh_next_due(booking.dose.course)
    return booking


def _check_visit_day_reached(booking: Booking) -> None:
    """A visit still ahead has no outcome yet: recording it "not given" would cancel the later
    bookings counted from it."""
    if booking.local_date > timezone.localdate():
        raise VisitError("A visit can only be recorded as not given on or after its day.")


def _given_visit(booking: Booking, *, by) -> tuple[Booking, Visit]:
    booking = locks.lock_booking(booking)
    if booking.status != Booking.Status.FULFILLED:
        raise VisitError("Observation and discharge are recorded after the dose is given.")
    visit = booking.visit_or_none
    if visit is None:
        visit = Visit(booking=booking, arrived_at=booking.dose.given_at)
        visit._history_user = by
        visit.save()
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
    booking, visit = _given_visit(booking, by=recorded_by)
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
def record_discharge(
    *, booking: Booking, recorded_by, at: datetime | None = None, early_reason: str = ""
) -> Visit:
    """End observation and discharge. The patient leaflet asks for 60–90 minutes of
    observation after the dose: a discharge sooner is refused (`EarlyDischarge`) unless the
    nurse confirms it with `early_reason`, kept on the visit (`early_discharge_reason`). The
    visit carries `warnings` when the patient left early. Twice changes nothing."""
    booking, visit = _given_visit(booking, by=recorded_by)
    visit.warnings = []
    if visit.discharged_at:
        return visit
    at = at or timezone.now()
    _check_time(at, booking.dose.given_at, "discharge")
    if visit.observation_start and at < visit.observation_start:
        raise VisitError("Discharge cannot be before observation started.")
    minutes = int((at - booking.dose.given_at).total_seconds() // 60)
    early = at - booking.dose.given_at < MIN_OBSERVATION
    _check_early_discharge(early, minutes, early_reason)
    visit.observation_start = visit.observation_start or booking.dose.given_at
    visit.observation_end = visit.observation_end or at
    visit.discharged_at = at
    visit.early_discharge_reason = early_reason.strip() if early else ""
    visit._history_user = recorded_by
    visit.save()
    if early:
        visit.warnings.append(
            f"Discharged {minutes} minutes after the dose, before the leaflet's 60 minutes: "
            f"{visit.early_discharge_reason}"
        )
    return visit


def _check_early_discharge(early: bool, minutes: int, early_reason: str) -> None:
    """Discharge before the leaflet's 60 minutes of observation needs a confirmation and a
    stored reason (DESIGN §2 "After"; issue 17 §5)."""
    if early and not early_reason.strip():
        raise EarlyDischarge(
            f"It is {minutes} minutes since the dose: the leaflet asks for 60–90 minutes of "
            "observation. To discharge now, confirm and write why."
        )
