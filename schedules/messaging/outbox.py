"""Writing the outbox (issue 18 §2): called by the booking, course and visit services inside
their transaction and under their locks, so a message exists if and only if its cause was
committed. Nothing here sends: each new message due now is handed to the worker on commit.

Which message each change writes:

- a booking made (`book_dose`): "booked", and the reminders at the unit's offsets (7 and 2
  days before by default; a booking already inside the window gets the nearest one now);
- a booking moved (`reschedule_booking`): "changed", and the new visit's reminders; the old
  visit's waiting messages are cancelled;
- a booking cancelled (`cancel_booking`, `stop_course`): "cancelled";
- did not attend (`mark_no_show`): "please call us to rebook";
- a course held or paused: "do not come until we call you", and every waiting reminder of the
  course is cancelled (DESIGN §2: while held or paused nothing tells the patient to come).

Any booking cancelled by any door (`booking.services.cancel_bookings`) cancels its waiting
messages here (`withdraw_for_bookings`); the sender checks again at send time
(`sending.reason_gone`), under the row lock.

A patient without a recorded agreement to reminders, or with "no reminders", gets none.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from schedules.messaging import texts
from schedules.messaging.models import Message
from schedules.models import Booking, TreatmentCourse, Unit

#: Reminders go out at this local time on their day (not in the night).
REMINDER_TIME = time(10, 0)
#: What a reminder, a "booked" or a "changed" message needs to still be true when it is sent.
VISIT_KINDS = (Message.Kind.REMINDER, Message.Kind.BOOKED, Message.Kind.CHANGED)


def reminder_moment(start: datetime, days_before: int, unit) -> datetime:
    """`days_before` local days before the visit, at `REMINDER_TIME` in the unit's zone."""
    day = start.astimezone(unit.zone).date() - timedelta(days=days_before)
    return datetime.combine(day, REMINDER_TIME, tzinfo=unit.zone)


def idempotency_key(*, kind, channel, booking=None, course=None, version=0, days_before=None):
    """The same booking, kind, channel and version never make two messages (issue 18 §2).
    The version is the visit's calendar sequence, which goes up when the visit changes for
    the patient (a hold and its release): a reminder cancelled by a hold is written again
    after the release. A reminder is also keyed by its offset."""
    about = f"b{booking.pk}" if booking is not None else f"c{course.pk}"
    key = f"{kind}:{about}:{channel}:v{version}"
    return f"{key}:d{days_before}" if days_before is not None else key


def _enqueue_on_commit(message: Message) -> None:
    from schedules.messaging import tasks

    if message.send_after <= timezone.now():
        pk = message.pk
        transaction.on_commit(lambda: tasks.enqueue_send(pk))


def _write(
    *, patient, kind, text, send_after, booking=None, course=None, days_before=None, version=None
):
    if version is None:
        version = booking.dose.calendar_sequence if booking is not None else 0
    key = idempotency_key(
        kind=kind,
        channel=patient.preferred_channel,
        booking=booking,
        course=course,
        version=version,
        days_before=days_before,
    )
    message, created = Message.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "patient": patient,
            "booking": booking,
            "course": course,
            "kind": kind,
            "channel": patient.preferred_channel,
            "days_before": days_before,
            "booking_version": version,
            "subject": text.subject,
            "body": text.body,
            "send_after": send_after,
        },
    )
    if created:
        _enqueue_on_commit(message)
    return message


def wanted_reminders(booking: Booking, unit, now: datetime) -> list[tuple[int, datetime]]:
    """(days before, when) of the reminders a visit should have: those still ahead, and of
    those already passed only the nearest one, sent now (a booking made inside the window)."""
    start = booking.slot.start
    if start <= now:
        return []
    ahead, passed = [], []
    for days in unit.reminder_offsets:
        moment = reminder_moment(start, days, unit)
        (ahead if moment > now else passed).append((days, moment))
    if passed:
        ahead.append((min(passed)[0], now))
    return ahead


def _reminders(booking: Booking, unit) -> None:
    patient = booking.dose.course.patient
    for days, moment in wanted_reminders(booking, unit, timezone.now()):
        _write(
            patient=patient,
            kind=Message.Kind.REMINDER,
            text=texts.reminder(booking.slot.start, unit),
            send_after=moment,
            booking=booking,
            days_before=days,
        )


def _patient_wants(booking: Booking) -> bool:
    return booking.dose.course.patient.reminders_wanted


def booking_made(booking: Booking, *, moved: bool = False) -> None:
    """A visit booked (or moved to, `moved`): its notice and its reminders."""
    if not _patient_wants(booking) or booking.slot.start <= timezone.now():
        return
    unit = booking.slot.unit
    make = texts.changed if moved else texts.booked
    _write(
        patient=booking.dose.course.patient,
        kind=Message.Kind.CHANGED if moved else Message.Kind.BOOKED,
        text=make(booking.slot.start, unit),
        send_after=timezone.now(),
        booking=booking,
    )
    _reminders(booking, unit)


def booking_cancelled(booking: Booking) -> None:
    """A visit cancelled that the patient would otherwise come to."""
    if not _patient_wants(booking) or booking.slot.start <= timezone.now():
        return
    _write(
        patient=booking.dose.course.patient,
        kind=Message.Kind.CANCELLED,
        text=texts.cancelled(booking.slot.start, booking.slot.unit),
        send_after=timezone.now(),
        booking=booking,
    )


def missed(booking: Booking) -> None:
    """Did not attend: please call us to rebook."""
    if not _patient_wants(booking):
        return
    _write(
        patient=booking.dose.course.patient,
        kind=Message.Kind.REBOOK,
        text=texts.rebook(booking.slot.start, booking.slot.unit),
        send_after=timezone.now(),
        booking=booking,
    )


def course_on_hold(course: TreatmentCourse, *, had_visit: bool) -> None:
    """Held or paused: cancel what would tell the patient to come, and say "do not come until
    we call you" (DESIGN §2) when they had a visit ahead (`had_visit`)."""
    withdraw(
        Message.objects.filter(booking__dose__course=course),
        "Treatment was put on hold or paused before sending.",
    )
    patient = course.patient
    unit = Unit.objects.order_by("pk").first()
    if not patient.reminders_wanted or not had_visit or unit is None:
        return
    _write(
        patient=patient,
        kind=Message.Kind.HOLD,
        text=texts.hold(unit),
        send_after=timezone.now(),
        course=course,
        # Each hold or pause is a course event: a new one is a new message, a replay is not.
        version=course.events.count(),
    )


def withdraw(messages, why: str) -> int:
    """Cancel the waiting messages among `messages` that tell the patient to come."""
    return messages.filter(status__in=Message.WAITING, kind__in=VISIT_KINDS).update(
        status=Message.Status.CANCELLED, failure_reason=why, status_at=timezone.now()
    )


def withdraw_for_bookings(bookings) -> int:
    """The bookings were cancelled (by whatever door): their reason to remind has gone."""
    return withdraw(
        Message.objects.filter(booking__in=[b.pk for b in bookings]),
        "The visit was cancelled or moved before sending.",
    )
