"""Writes about patients that touch several rows: calendar-feed links.

Each is keyword-only and atomic, and locks the owner's row first, so two nurses pressing
"issue" at once cannot both leave an active link (the partial unique constraint on FeedToken
backs this up).
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from patients.models import FeedToken, Patient

logger = logging.getLogger(__name__)


@transaction.atomic
def issue_feed_link(*, patient: Patient, issued_by) -> str:
    """Revoke the patient's calendar link, if any, and issue a new one.

    Returns the raw token: it is stored only as a hash, so this is the one chance to show it.
    """
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    now = timezone.now()
    FeedToken.objects.active().filter(patient=patient).update(revoked_at=now)
    raw = FeedToken.new_secret()
    FeedToken.objects.create(
        patient=patient, token_hash=FeedToken.hash(raw), issued_at=now, issued_by=issued_by
    )
    logger.info("Calendar link issued for patient %s by user %s", patient.pk, _who(issued_by))
    return raw


@transaction.atomic
def revoke_feed_link(*, patient: Patient, revoked_by) -> int:
    """Stop the patient's calendar link working. Returns how many links were revoked (0 or 1)."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    count = FeedToken.objects.active().filter(patient=patient).update(revoked_at=timezone.now())
    # FeedToken has no revoked_by column; the log is the audit trail for who did it.
    logger.info("Calendar link revoked for patient %s by user %s", patient.pk, _who(revoked_by))
    return count


@transaction.atomic
def issue_staff_feed_link(*, user) -> str:
    """A staff member's own link to the unit's bookings; revokes their previous one."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    now = timezone.now()
    FeedToken.objects.active().filter(user=user).update(revoked_at=now)
    raw = FeedToken.new_secret()
    FeedToken.objects.create(
        user=user, token_hash=FeedToken.hash(raw), issued_at=now, issued_by=user
    )
    logger.info("Staff calendar link issued for user %s", user.pk)
    return raw


@transaction.atomic
def revoke_staff_feed_link(*, user) -> int:
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    count = FeedToken.objects.active().filter(user=user).update(revoked_at=timezone.now())
    logger.info("Staff calendar link revoked for user %s", user.pk)
    return count


def _who(user) -> str:
    return str(user.pk) if user is not None else "(command line)"
