"""Writes about patients: registration and edits, consents, calendar-feed links.

Each is keyword-only and atomic. Feed links lock the owner's row first, so two nurses pressing
"issue" at once cannot both leave an active link (the partial unique constraint on FeedToken
backs this up). Registration and consents rely on unique constraints, so a double submit or
two people at once make one record and the other gets a sentence, never a server error.
"""

import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import Consent, FeedToken, Patient
from tofersen_scheduler.errors import ServiceError

logger = logging.getLogger(__name__)


class ClinicianOnly(ServiceError):
    pass


class DuplicateRecord(ServiceError):
    pass


def _validation_message(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def save_patient(*, patient: Patient, changes: dict, by) -> Patient:
    """Register a patient (no pk yet) or save changes to one.

    Contact details (issue 18 §1): a change of mobile, email, address or channel stamps
    `contact_changed_at`; recording the agreement to reminders records who did.

    1. Clinical facts (Patient.CLINICAL_FIELDS) change only for someone with
       patients.record_clinical_facts (hazard log H5/H14): ClinicianOnly otherwise.
    2. full_clean(), then save; a hospital or NHS number registered meanwhile by someone else
       (the unique constraints) is DuplicateRecord, with the record left as it was.
    """
    may_record = by.has_perm("patients.record_clinical_facts")
    refused = [
        name
        for name in Patient.CLINICAL_FIELDS
        if name in changes and changes[name] != getattr(patient, name) and not may_record
    ]
    if refused:
        raise ClinicianOnly(
            "Only a clinician can record the SOD1 confirmation, whether the patient could "
            "become pregnant, or contraception advice; nothing was saved."
        )
    contact_changed = patient.pk is not None and any(
        name in changes and changes[name] != getattr(patient, name)
        for name in Patient.CONTACT_FIELDS
    )
    agreement_changed = (
        "reminders_agreed_on" in changes
        and changes["reminders_agreed_on"] != patient.reminders_agreed_on
    )
    for name, value in changes.items():
        setattr(patient, name, value)
    if contact_changed:
        # Takes the patient off "Fix contact details" (issue 18 §5): the failure was for the
        # old details.
        patient.contact_changed_at = timezone.now()
    if agreement_changed:
        # Who recorded the patient's agreement to reminders (issue 18 §1).
        patient.reminders_recorded_by = by if patient.reminders_agreed_on else None
    patient._history_user = by
    try:
        with transaction.atomic():
            patient.full_clean()
            patient.save()
    except ValidationError as error:
        raise DuplicateRecord(_validation_message(error)) from None
    except IntegrityError:
        raise DuplicateRecord(
            "Another patient has just been registered with this hospital or NHS number: "
            "search for them before registering again."
        ) from None
    return patient


def record_consent(*, patient: Patient, kind: str, signed_on, reference: str, recorded_by):
    """Record a signed consent form. The same form signed the same day is one consent: a
    second identical submit is DuplicateRecord (constraint consent_recorded_once)."""
    consent = Consent(
        patient=patient,
        kind=kind,
        signed_on=signed_on,
        reference=reference,
        recorded_by=recorded_by,
    )
    consent._history_user = recorded_by
    try:
        with transaction.atomic():
            consent.full_clean()
            consent.save()
    except ValidationError as error:
        raise DuplicateRecord(_validation_message(error)) from None
    except IntegrityError:
        raise DuplicateRecord("This consent form is already recorded for that date.") from None
    return consent


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
        user=user,
        token_hash=FeedToken.hash(raw),
        owner_check=FeedToken.owner_fingerprint(user),
        issued_at=now,
        issued_by=user,
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
