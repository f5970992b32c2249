"""Sending what the outbox holds (issue 18 §2–§5).

One message at a time: claim it under a row lock, check its reason is still there, mark it
sending, commit, hand it to the provider, record what happened.

1. Claim: the oldest due message (`due`), locked with `select_for_update(skip_locked=True)`
   on PostgreSQL so two workers pass each other instead of queueing, then moved to SENDING by
   a conditional update (`status` still waiting), which is what keeps two workers (and
   SQLite, which has no row locks) from sending one message twice.
2. Reason gone (`reason_gone`), checked under that lock: a visit cancelled or moved, a
   course held or paused, a patient who withdrew their agreement — cancelled, never sent
   (hazards H68, H71).
3. Send outside any transaction (no lock held while waiting for the network).
4. Sent: SENT with Notify's id. Temporary failure: tried again after 1, 2, 4, 8, 16 minutes
   (capped at `MESSAGE_RETRY_MAX_MINUTES`), at most `MESSAGE_MAX_ATTEMPTS` times, then left
   as a failure on the Messages page. Permanent failure: the patient is on "Fix contact
   details" with the reason.

A worker that dies between 1 and 4 leaves the message SENDING; the sweep gives it back after
`STALE_SENDING` (`reclaim_stale`): at least once, never lost (hazard H69).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from schedules.messaging import transport
from schedules.messaging.models import Message
from schedules.models import Booking, TreatmentCourse

STALE_SENDING = timedelta(minutes=15)


def due(now=None):
    now = now or timezone.now()
    return Message.objects.filter(
        status__in=Message.WAITING,
        send_after__lte=now,
        attempts__lt=settings.MESSAGE_MAX_ATTEMPTS,
    )


def visit_cancelled(booking: Booking) -> bool:
    """Hazard H68: the visit is no longer booked (cancelled, moved, missed), by any door."""
    return booking.status != Booking.Status.BOOKED


def told_not_to_come(course: TreatmentCourse) -> bool:
    """Hazard H71: a held, paused or stopped course (DESIGN §2: nothing tells the patient to
    come while treatment is held or paused)."""
    return course.status != TreatmentCourse.Status.ACTIVE


def reason_gone(message: Message, now) -> str:
    """Why the message must not be sent any more, or "" (DESIGN §2; issue 18 §2)."""
    patient = message.patient
    if not patient.reminders_wanted or patient.preferred_channel != message.channel:
        return "The patient's agreement or channel changed before sending."
    booking, course = message.booking, message.course
    if message.kind in (Message.Kind.REMINDER, Message.Kind.BOOKED, Message.Kind.CHANGED):
        if visit_cancelled(booking):
            return "The visit was cancelled or moved before sending."
        if booking.slot.start <= now:
            return "The visit had already started."
        if told_not_to_come(booking.dose.course):
            return "Treatment is on hold or paused: the patient must not be told to come."
    elif message.kind == Message.Kind.CANCELLED and booking.status != Booking.Status.CANCELLED:
        return "The visit is no longer cancelled."
    elif message.kind == Message.Kind.REBOOK and booking.status != Booking.Status.NOSHOW:
        return "'Did not attend' was undone."
    elif message.kind == Message.Kind.HOLD and course.status not in (
        TreatmentCourse.Status.HELD,
        TreatmentCourse.Status.PAUSED,
    ):
        return "Treatment is no longer on hold."
    return ""


def _lock(queryset):
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


@dataclass
class Claimed:
    message: Message | None
    cancelled: bool = False


@transaction.atomic
def claim(*, message_id: int | None = None) -> Claimed:
    """Step 1 and 2 for the next due message (or that one)."""
    now = timezone.now()
    queryset = due(now).order_by("send_after", "pk")
    if message_id is not None:
        queryset = queryset.filter(pk=message_id)
    message = (
        _lock(queryset)
        .select_related("patient", "booking__slot", "booking__dose__course", "course")
        .first()
    )
    if message is None:
        return Claimed(None)
    gone = reason_gone(message, now)
    changes = (
        {"status": Message.Status.CANCELLED, "failure_reason": gone, "status_at": now}
        if gone
        else {"status": Message.Status.SENDING, "claimed_at": now, "attempts": F("attempts") + 1}
    )
    if not Message.objects.filter(pk=message.pk, status__in=Message.WAITING).update(**changes):
        return Claimed(None)  # another worker took it between the read and the update
    if gone:
        return Claimed(message, cancelled=True)
    message.refresh_from_db(fields=["attempts"])
    return Claimed(message)


def retry_delay(attempts: int) -> timedelta:
    minutes = min(2 ** (attempts - 1), settings.MESSAGE_RETRY_MAX_MINUTES)
    return timedelta(minutes=minutes)


def _finish(message: Message, **changes) -> None:
    # Only from SENDING: a delivery receipt that came back first is never overwritten (one
    # statement, one commit, in the usual case).
    updated = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(**changes)
    if not updated and "provider_id" in changes:
        Message.objects.filter(pk=message.pk).update(provider_id=changes["provider_id"])


def send(message: Message) -> str:
    """Steps 3–4 for a claimed message; returns its new status."""
    now = timezone.now()
    try:
        provider_id = transport.deliver(message)
    except transport.PermanentFailure as error:
        _finish(
            message,
            status=Message.Status.PERMANENT_FAILURE,
            failure_reason=str(error),
            failed_at=now,
            status_at=now,
        )
        return Message.Status.PERMANENT_FAILURE
    except transport.TemporaryFailure as error:
        retry_at = now + retry_delay(message.attempts)
        _finish(
            message,
            status=Message.Status.TEMPORARY_FAILURE,
            failure_reason=str(error),
            send_after=retry_at,
            failed_at=now,
            status_at=now,
        )
        if message.attempts < settings.MESSAGE_MAX_ATTEMPTS:
            from schedules.messaging import tasks

            tasks.enqueue_send(message.pk, run_after=retry_at)
        return Message.Status.TEMPORARY_FAILURE
    _finish(
        message,
        status=Message.Status.SENT,
        provider_id=provider_id,
        sent_at=now,
        status_at=now,
        failure_reason="",
    )
    return Message.Status.SENT


def send_due(*, message_id: int | None = None, limit: int | None = None) -> Counter:
    """Send what is due (or that one message): how many ended in each status."""
    counts = Counter()
    while limit is None or sum(counts.values()) < limit:
        claimed = claim(message_id=message_id)
        if claimed.message is None:
            break
        if claimed.cancelled:
            counts[Message.Status.CANCELLED] += 1
        else:
            counts[send(claimed.message)] += 1
        if message_id is not None:
            break
    return counts


def reclaim_stale(now=None) -> int:
    """Messages left SENDING by a worker that stopped: back in the queue (at least once)."""
    now = now or timezone.now()
    return Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - STALE_SENDING
    ).update(
        status=Message.Status.TEMPORARY_FAILURE,
        send_after=now,
        failure_reason="The worker stopped while sending; queued again.",
        status_at=now,
    )
