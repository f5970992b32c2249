"""Staff notices (issue 18 item 7): email the clinicians when something waits for their
decision — a course held for clinical review, pre-dose checks stopped for a clinician, a
nurse asking a clinician to book a dose.

Who: every active user who can make the decision — the permission `rules.OVERRIDE_PERMISSION`
(the Clinician role; `booking.services.can_override`, which the review, the checks decision
and booking past the window all check) — with an email address, except the user whose action
raised the notice (they know). Superusers are not included for holding the permission
implicitly: admins keep the records, clinicians decide (DESIGN §1).

What each notice says (hazard H9, "Patient's health information exposed", holds for email
too; hazard H62 in docs/hazard-log.md): what is waiting, the patient's hospital number and a
link (settings.SITE_URL) to the page that resolves it, which asks for a sign-in. Never the
name, date of birth or NHS number (a hospital number means nothing outside the hospital; an
NHS number does), never why (no adverse event, symptom, pregnancy answer, or the nurse's
note): email leaves the hospital's systems (forwarded, on a phone's lock screen), and the
clinician reads the reason on the page, where access is checked and logged.

When: on commit (`transaction.on_commit`), so a change that rolls back sends nothing. Sending
happens after the clinical action is saved; an SMTP failure is logged and never undoes or
breaks the action (`_send` swallows and logs; the callback is also registered `robust`).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse

from schedules.rules import OVERRIDE_PERMISSION

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "Tofersen unit: "


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def recipients(*, exclude=None) -> list[str]:
    """The email addresses of the users who can make the decision (see the module's doc)."""
    users = (
        get_user_model()
        .objects.with_perm(
            OVERRIDE_PERMISSION,
            include_superusers=False,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .filter(is_active=True)
        .exclude(email="")
    )
    if exclude is not None and getattr(exclude, "pk", None) is not None:
        users = users.exclude(pk=exclude.pk)
    return sorted(set(users.values_list("email", flat=True)))


def patient_line(patient) -> str:
    """How a notice names the patient: the hospital number only (hazard H62's control)."""
    return f"Hospital number: {patient.hospital_number}"


def compose(*, what: str, patient, path: str) -> Notice:
    """The notice: what waits, the hospital number, the link. Nothing else (H9, H62)."""
    body = (
        f"{what}\n\n"
        f"{patient_line(patient)}\n"
        f"Open: {settings.SITE_URL}{path}\n\n"
        "Sign in to see the record and the reason; this email does not say more.\n"
        "You receive this because you can make this decision in the tofersen dose scheduler.\n"
    )
    return Notice(subject=SUBJECT_PREFIX + what.rstrip("."), body=body)


def _send(notice: Notice, by) -> None:
    """After the commit: one message per recipient (no one sees the others' addresses). A
    failure is logged, never raised: the clinical action is already saved."""
    try:
        to = recipients(exclude=by)
        if not to:
            logger.warning("Staff notice %r: no clinician with an email address", notice.subject)
            return
        messages = [EmailMessage(notice.subject, notice.body, None, [address]) for address in to]
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(messages)
    except Exception:
        logger.exception("Staff notice %r was not sent", notice.subject)


def _queue(notice: Notice, *, by) -> None:
    transaction.on_commit(lambda: _send(notice, by), robust=True)


def course_held(course, *, by) -> None:
    """The course is on hold until a clinician records the review decision (DESIGN §2)."""
    _queue(
        compose(
            what="A treatment course is on hold for a clinician's review.",
            patient=course.patient,
            path=reverse("schedules:review", args=[course.pk]),
        ),
        by=by,
    )


def checks_stopped(booking, *, by) -> None:
    """The pre-dose checks wait for a clinician's decision (DESIGN §2 "Before")."""
    _queue(
        compose(
            what="Pre-dose checks are waiting for a clinician's decision today.",
            patient=booking.dose.course.patient,
            path=reverse("schedules:visit_clear", args=[booking.pk]),
        ),
        by=by,
    )


def clinician_asked(request, *, by) -> None:
    """A nurse asks a clinician to book a dose (a date past the window needs one)."""
    _queue(
        compose(
            what="A nurse asks a clinician to book a dose.",
            patient=request.course.patient,
            path=reverse("schedules:overdue"),
        ),
        by=by,
    )
