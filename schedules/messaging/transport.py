"""Handing one message to GOV.UK Notify (its official client), or, with no API key, to
Django's email backend (the console in development, so `make run` shows every message).

Notify's documented errors decide what happens next (issue 18 §5): 400 (an invalid number,
a bad address) is permanent, so the patient goes on "Fix contact details" with Notify's
reason; a timeout, a refused connection, 429 (rate limit) and 5xx are temporary and retried;
any other answer (403: a wrong key) is temporary too, since it is ours to fix, not the
patient's.
"""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def notify_client():
    from notifications_python_client.notifications import NotificationsAPIClient

    return NotificationsAPIClient(
        settings.NOTIFY_API_KEY,
        base_url=settings.NOTIFY_BASE_URL,
        timeout=settings.NOTIFY_TIMEOUT_SECONDS,
    )


def _letter_address(patient) -> dict:
    """Notify's letter address: the name, then up to six address lines, the postcode last."""
    lines = [line.strip() for line in patient.address.splitlines() if line.strip()][:6]
    return {f"address_line_{n}": line for n, line in enumerate([patient.full_name, *lines], 1)}


def _send_notify(message) -> str:
    from notifications_python_client.errors import APIError

    client = notify_client()
    patient = message.patient
    reference = str(message.pk)  # issue 18 Interfaces: the outbox row's id
    try:
        if message.channel == "sms":
            response = client.send_sms_notification(
                phone_number=patient.mobile_phone,
                template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
                personalisation={"body": message.body},
                reference=reference,
            )
        elif message.channel == "email":
            response = client.send_email_notification(
                email_address=patient.email,
                template_id=settings.NOTIFY_EMAIL_TEMPLATE_ID,
                personalisation={"subject": message.subject, "body": message.body},
                reference=reference,
            )
        else:
            response = client.send_letter_notification(
                template_id=settings.NOTIFY_LETTER_TEMPLATE_ID,
                personalisation={**_letter_address(patient), "body": message.body},
                reference=reference,
            )
    except APIError as error:
        detail = error.message
        if isinstance(detail, list):
            detail = "; ".join(str(item.get("message", item)) for item in detail)
        reason = f"Notify {error.status_code}: {detail}"[:300]
        if error.status_code == 400:
            raise PermanentFailure(reason) from None
        raise TemporaryFailure(reason) from None
    return str(response.get("id", ""))


def _send_email_backend(message) -> str:
    """Development and units without Notify: Django's email backend. Only an email message
    has a real recipient; a text or a letter is written out addressed to the channel."""
    patient = message.patient
    to = {
        "email": patient.email,
        "sms": f"sms-{patient.mobile_phone.lstrip('+')}@messages.invalid",
        "letter": "letter@messages.invalid",
    }[message.channel]
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"X-Message-Reference": str(message.pk)},
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentFailure(f"Email address refused: {error}"[:300]) from None
    except (smtplib.SMTPException, OSError) as error:
        raise TemporaryFailure(f"Email server: {error}"[:300]) from None
    return f"email-{message.pk}"


def deliver(message) -> str:
    """Send `message`; return the provider's id, or raise Temporary/PermanentFailure."""
    if settings.NOTIFY_API_KEY:
        return _send_notify(message)
    return _send_email_backend(message)
