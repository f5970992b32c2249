"""Notify's delivery receipts (issue 18 §6). Idempotent, and a receipt never moves a message
backwards: each status has a rank, and a receipt that ranks no higher than the message's
current status changes nothing (receipts can arrive late, twice, or out of order).
"""

from django.db import transaction
from django.utils import timezone

from schedules.messaging.models import Message

S = Message.Status
#: How far along a message is. Final answers share the top rank: the first one stands.
RANK = {
    S.PENDING: 0,
    S.TEMPORARY_FAILURE: 0,
    S.SENDING: 1,
    S.SENT: 2,
    S.DELIVERED: 3,
    S.PERMANENT_FAILURE: 3,
    S.CANCELLED: 3,
}
#: Notify's callback statuses (its API documentation) in ours. A provider's temporary
#: failure (phone off for days) is final for that message: Notify has stopped trying.
NOTIFY_STATUS = {
    "created": S.SENT,
    "sending": S.SENT,
    "pending": S.SENT,
    "sent": S.SENT,
    "accepted": S.SENT,
    "received": S.DELIVERED,
    "delivered": S.DELIVERED,
    "permanent-failure": S.PERMANENT_FAILURE,
    "temporary-failure": S.TEMPORARY_FAILURE,
    "technical-failure": S.TEMPORARY_FAILURE,
    "validation-failed": S.PERMANENT_FAILURE,
}
FINAL_FAILURE_RANK = 3
REASONS = {
    "permanent-failure": "Notify: the number or address does not exist (permanent failure).",
    "temporary-failure": "Notify: not delivered in time (phone off or inbox full).",
    "technical-failure": "Notify: technical failure.",
    "validation-failed": "Notify: the letter failed validation.",
}


def rank(status: str, notify_status: str = "") -> int:
    if status == S.TEMPORARY_FAILURE and notify_status in (
        "temporary-failure",
        "technical-failure",
    ):
        return FINAL_FAILURE_RANK
    return RANK[status]


@transaction.atomic
def apply(receipt: dict) -> Message | None:
    """Apply one receipt: the message named by `reference` (our row id) and Notify's `id`."""
    notify_status = str(receipt["status"])
    new = NOTIFY_STATUS.get(notify_status)
    reference = str(receipt.get("reference") or "")
    if new is None or not reference.isdigit():
        raise ValueError("Unknown status or reference")
    message = Message.objects.select_for_update().filter(pk=int(reference)).first()
    if message is None:
        return None
    provider_id = str(receipt.get("id") or "")
    if message.provider_id and provider_id and message.provider_id != provider_id:
        return None  # not the notification we sent for this row
    current_rank = RANK[message.status]
    if message.status == S.TEMPORARY_FAILURE and message.provider_id:
        current_rank = FINAL_FAILURE_RANK  # Notify's own final answer, already recorded
    if rank(new, notify_status) <= current_rank:
        return message
    now = timezone.now()
    message.status = new
    message.status_at = now
    message.provider_id = message.provider_id or provider_id
    fields = ["status", "status_at", "provider_id"]
    if rank(new, notify_status) == FINAL_FAILURE_RANK and new != S.DELIVERED:
        message.failure_reason = REASONS.get(notify_status, notify_status)[:300]
        message.failed_at = now
        fields += ["failure_reason", "failed_at"]
    message.save(update_fields=fields)
    return message
