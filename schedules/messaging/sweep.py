"""The reminder sweep (issue 18 §4): every few minutes, from the worker or the deploy's timer,
and once by hand with `python manage.py send_reminders`.

1. Reminders missing for visits inside the reminder window are written (a patient who agreed
   to reminders after booking, a unit that changed its offsets): one read of the window's
   bookings and one insert, whatever the number of patients; the idempotency key makes a
   second sweep, or two at once, write nothing more.
2. Messages left SENDING by a stopped worker go back in the queue.
3. What is due is sent (`sending.send_due`).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from schedules.messaging import outbox, sending, texts
from schedules.messaging.models import Message, WorkerHeartbeat
from schedules.models import Booking, TreatmentCourse, Unit


def beat(name: str) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def queue_missing_reminders(now=None) -> int:
    """Step 1: returns how many reminders it wrote."""
    now = now or timezone.now()
    unit = Unit.objects.order_by("pk").first()
    if unit is None or not unit.reminder_offsets:
        return 0
    horizon = now + timedelta(days=max(unit.reminder_offsets) + 1)
    bookings = (
        Booking.objects.filter(
            status=Booking.Status.BOOKED,
            slot__start__gt=now,
            slot__start__lte=horizon,
            dose__course__status=TreatmentCourse.Status.ACTIVE,
            dose__course__patient__reminders_agreed_on__isnull=False,
        )
        .exclude(dose__course__patient__preferred_channel="none")
        .select_related("slot", "dose__course__patient")
        .order_by("slot__start", "pk")
    )
    rows = []
    for booking in bookings:
        patient = booking.dose.course.patient
        for days, moment in outbox.wanted_reminders(booking, unit, now):
            if moment > now:
                continue  # written by a later sweep, when due
            text = texts.reminder(booking.slot.start, unit)
            rows.append(
                Message(
                    patient=patient,
                    booking=booking,
                    kind=Message.Kind.REMINDER,
                    channel=patient.preferred_channel,
                    days_before=days,
                    booking_version=booking.dose.calendar_sequence,
                    idempotency_key=outbox.idempotency_key(
                        kind=Message.Kind.REMINDER,
                        channel=patient.preferred_channel,
                        booking=booking,
                        version=booking.dose.calendar_sequence,
                        days_before=days,
                    ),
                    subject=text.subject,
                    body=text.body,
                    send_after=moment,
                )
            )
    existing = (
        set(
            Message.objects.filter(
                idempotency_key__in=[row.idempotency_key for row in rows]
            ).values_list("idempotency_key", flat=True)
        )
        if rows
        else set()
    )
    rows = [row for row in rows if row.idempotency_key not in existing]
    if not rows:
        return 0
    with transaction.atomic():
        # A sweep running at the same moment may have written some: theirs stand.
        Message.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def run(*, send: bool = True) -> dict:
    """One sweep; returns what it did, for the command and the Messages page."""
    written = queue_missing_reminders()
    reclaimed = sending.reclaim_stale()
    sent = sending.send_due() if send else {}
    return {"written": written, "reclaimed": reclaimed, "sent": dict(sent)}
