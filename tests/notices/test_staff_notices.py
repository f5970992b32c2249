"""Staff notices (issue 18 item 7; `schedules/notices.py`): the clinicians who can decide are
emailed when a course is held, when pre-dose checks stop for their decision and when a nurse
asks them to book; with a link and no health information (hazards H9, H62); on commit only;
an SMTP failure never loses the clinical action."""

import asyncio
import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.urls import reverse

from schedules import services
from schedules.models import TreatmentCourse
from tests.factories import (
    GIVEN_ELSEWHERE,
    MONDAY,
    VIAL,
    arrive_and_check,
    at,
    frozen,
    make_course,
    make_patient,
    make_slot,
    make_user,
)

CLINICIAN_EMAIL = "dr.who@trust.example"
ADMIN_EMAIL = "lead@trust.example"
DECIDERS = sorted([[ADMIN_EMAIL], [CLINICIAN_EMAIL]])
PRIVATE = ("Ada", "Lovelace", "1970", "17 May", "myelitis", "Myelitis", "9434765919")


@pytest.fixture
def people(db):
    """Who gets a notice: active users whose role may make the decision (the override
    permission: Clinician, Admin) with an address; not nurses, not an account without an
    address, not a superuser who holds no such role."""
    clinician = make_user("decider", "Clinician", email=CLINICIAN_EMAIL)
    make_user("noemail", "Clinician")
    make_user("inactive", "Clinician", email="gone@trust.example", is_active=False)
    nurse = make_user("ward", "Nurse", email="nurse@trust.example")
    make_user("lead", "Admin", email=ADMIN_EMAIL, is_staff=True)
    make_user("root", "Nurse", email="root@trust.example", is_superuser=True, is_staff=True)
    return clinician, nurse


@pytest.fixture
def course(patient, unit, people):
    """Dose 1 given a week ago elsewhere, dose 2 booked for today; the clock at MONDAY 08:00."""
    clinician, nurse = people
    patient.nhs_number = "9434765919"
    patient.save()
    start = MONDAY - timedelta(days=14)
    with frozen(start, 7):
        course = make_course(patient, start=start)
        services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(start, 6),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )
    with frozen():
        services.book_dose_number(
            course=course, number=2, slot=make_slot(unit, MONDAY), booked_by=nurse
        )
        yield course


def hold(course, nurse):
    return services.record_adverse_event(
        course=course, term="myelitis", onset=MONDAY, serious=True, recorded_by=nurse
    )


def assert_no_health_information(text: str) -> None:
    for word in PRIVATE:
        assert word not in text


def test_a_hold_emails_the_clinicians_what_and_where_and_nothing_more(
    course, people, django_capture_on_commit_callbacks
):
    clinician, nurse = people
    with django_capture_on_commit_callbacks(execute=True):
        hold(course, nurse)

    assert sorted(message.to for message in mail.outbox) == DECIDERS  # one message each
    message = mail.outbox[0]
    assert "on hold for a clinician's review" in message.subject
    link = settings.SITE_URL + reverse("schedules:review", args=[course.pk])
    assert link in message.body
    assert "Hospital number: H100001" in message.body
    assert_no_health_information(message.subject + message.body)


def test_the_clinician_who_holds_the_course_is_not_told_what_they_did(
    course, people, django_capture_on_commit_callbacks
):
    clinician, _ = people
    other = make_user("second", "Clinician", email="second@trust.example")
    with django_capture_on_commit_callbacks(execute=True):
        hold(course, clinician)
    assert sorted(message.to for message in mail.outbox) == sorted([[ADMIN_EMAIL], [other.email]])


def test_checks_stopped_for_a_clinician_email_once_with_the_decision_page(
    course, people, django_capture_on_commit_callbacks
):
    _, nurse = people
    booking = course.doses.get(number=2).bookings.get()
    with django_capture_on_commit_callbacks(execute=True):
        arrive_and_check(booking, nurse, symptom_headache=True)
    assert sorted(message.to for message in mail.outbox) == DECIDERS
    message = mail.outbox[0]
    assert settings.SITE_URL + reverse("schedules:visit_clear", args=[booking.pk]) in message.body
    assert "headache" not in (message.subject + message.body).lower()
    assert_no_health_information(message.subject + message.body)

    # Saving the checks again while they still wait tells nobody twice.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.record_checks(
            booking=booking,
            recorded_by=nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
            symptom_headache=True,
        )
    assert mail.outbox == []


def test_checks_with_no_yes_email_nobody(course, people, django_capture_on_commit_callbacks):
    _, nurse = people
    booking = course.doses.get(number=2).bookings.get()
    with django_capture_on_commit_callbacks(execute=True):
        arrive_and_check(booking, nurse)
    assert mail.outbox == []


def test_a_nurse_asking_a_clinician_to_book_emails_them_the_worklist_without_her_note(
    course, people, django_capture_on_commit_callbacks
):
    _, nurse = people
    with django_capture_on_commit_callbacks(execute=True):
        services.ask_clinician(
            course=course, number=3, slot=None, note="Lovelace has myelitis?", asked_by=nurse
        )
    assert sorted(message.to for message in mail.outbox) == DECIDERS
    body = mail.outbox[0].body
    assert settings.SITE_URL + reverse("schedules:overdue") in body
    assert_no_health_information(mail.outbox[0].subject + body)


# Real commits: on_commit as in production ----------------------------------------------------

# The roles are rows of a data migration: a flushing test restores them (serialized_rollback).
really_commits = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def committed(installed_unit):
    patient = make_patient()
    clinician = make_user("decider", "Clinician", email=CLINICIAN_EMAIL)
    nurse = make_user("ward", "Nurse")
    with frozen():
        course = make_course(patient, start=MONDAY)
        yield course, nurse, clinician


class Boom(Exception):
    pass


@really_commits
def test_a_rolled_back_hold_sends_nothing(committed):
    course, nurse, _ = committed

    def held_then_refused():
        with transaction.atomic():
            hold(course, nurse)
            raise Boom

    with pytest.raises(Boom):
        held_then_refused()
    assert mail.outbox == []
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE

    hold(course, nurse)  # the same action committed: the notice goes
    assert len(mail.outbox) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


@really_commits
def test_a_real_smtp_server_on_loopback_receives_the_notice(committed, smtp_server, settings):
    course, nurse, _ = committed
    controller, inbox = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port

    hold(course, nurse)

    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[CLINICIAN_EMAIL]]
    received = message_from_bytes(inbox.envelopes[0].content)
    assert "on hold" in received["Subject"]
    text = received.get_payload(decode=True).decode()
    assert settings.SITE_URL + reverse("schedules:review", args=[course.pk]) in text
    assert_no_health_information(received["Subject"] + text)


@really_commits
def test_an_smtp_failure_does_not_lose_the_hold(committed, settings, caplog):
    course, nurse, _ = committed
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2

    event = hold(course, nurse)  # no exception reaches the nurse

    course.refresh_from_db()
    assert event.held and course.status == TreatmentCourse.Status.HELD
    assert "was not sent" in caplog.text


@really_commits
def test_an_smtp_failure_on_the_page_still_records_the_request(committed, settings, client):
    course, nurse, _ = committed
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()
    client.force_login(nurse)
    response = client.post(
        reverse("schedules:ask_clinician", args=[course.pk, 1]), {"note": "", "slot": ""}
    )
    assert response.status_code == 302
    assert course.clinician_requests.filter(dose_number=1).exists()
