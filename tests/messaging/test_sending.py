"""Sending through GOV.UK Notify's real client to a local stand-in (issue 18 §3, §5), and
the sweep (§4)."""

from datetime import timedelta

from django.core.management import call_command

from schedules.messaging import sending, sweep
from schedules.messaging.models import Message
from schedules.models import Booking, TreatmentCourse
from tests.factories import MONDAY, at
from tests.messaging.conftest import MOBILE, VISIT_DAY


def test_the_booked_notice_goes_through_notify_with_its_row_as_reference(visit, notify):
    counts = sending.send_due()

    assert counts == {"sent": 1}
    [request] = notify.sent()
    booked = Message.objects.get(kind="booked")
    assert request["kind"] == "sms"
    assert request["body"]["phone_number"] == MOBILE
    assert request["body"]["reference"] == str(booked.pk)
    assert request["body"]["template_id"] == "11111111-1111-4111-8111-111111111111"
    assert request["body"]["personalisation"]["body"] == booked.body
    assert booked.status == "sent" and booked.provider_id == request["id"]


def test_email_goes_with_a_subject(visit, notify):
    patient = visit.dose.course.patient
    patient.preferred_channel, patient.email = "email", "ada@example.org"
    patient.save()
    Message.objects.update(channel="email")

    sending.send_due()

    [request] = notify.sent()
    assert request["kind"] == "email"
    assert request["body"]["email_address"] == "ada@example.org"
    assert request["body"]["personalisation"]["subject"] == "Your hospital appointment is booked"


def test_reminders_wait_for_their_day(visit, notify, clock):
    sending.send_due()
    clock(VISIT_DAY - timedelta(days=7), 9, 59)
    assert sending.send_due() == {}
    clock(VISIT_DAY - timedelta(days=7), 10, 0)
    assert sending.send_due() == {"sent": 1}
    assert (
        "Reminder: you have a hospital appointment on Thu 12 Mar 2026 at 09:00"
        in (notify.sent()[-1]["body"]["personalisation"]["body"])
    )


def test_the_sweep_run_twice_sends_each_message_once(visit, notify, clock):
    clock(VISIT_DAY - timedelta(days=2), 11)
    call_command("send_reminders")
    call_command("send_reminders")
    # booked, and the two reminders (the 7-day one late, as the worker was down all week)
    assert sorted(r["body"]["reference"] for r in notify.sent()) == sorted(
        str(pk) for pk in Message.objects.values_list("pk", flat=True)
    )
    assert len(notify.sent()) == 3


def test_provider_down_then_up_loses_nothing(visit, notify, clock):
    notify.answer(500, 429)
    assert sending.send_due() == {"temporary_failure": 1}
    booked = Message.objects.get(kind="booked")
    assert booked.status == "temporary_failure" and booked.attempts == 1
    assert "Notify 500: Internal server error" in booked.failure_reason
    assert sending.send_due() == {}  # backing off
    clock.shift(timedelta(minutes=1))
    assert sending.send_due() == {"temporary_failure": 1}  # rate limited
    assert "Notify 429" in Message.objects.get(pk=booked.pk).failure_reason
    clock.shift(timedelta(minutes=1))
    assert sending.send_due() == {}  # 2 minutes after the second attempt
    clock.shift(timedelta(minutes=1))
    assert sending.send_due() == {"sent": 1}
    booked.refresh_from_db()
    assert booked.status == "sent" and booked.attempts == 3
    assert len(notify.sent()) == 1


def test_an_unreachable_provider_is_a_temporary_failure(visit, notify, settings):
    settings.NOTIFY_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    assert sending.send_due() == {"temporary_failure": 1}


def test_retries_stop_at_the_cap(visit, notify, clock, settings):
    settings.MESSAGE_MAX_ATTEMPTS = 3
    notify.answer(500, 500, 500, 500)
    for _ in range(5):
        sending.send_due()
        clock.shift(timedelta(hours=1))
    booked = Message.objects.get(kind="booked")
    assert booked.attempts == 3 and booked.status == "temporary_failure"
    assert len(notify.requests) == 3


def test_an_invalid_number_puts_the_patient_on_fix_contact_details(visit, notify, nurse_client):
    notify.by_recipient[MOBILE] = 400
    assert sending.send_due() == {"permanent_failure": 1}

    page = nurse_client.get("/messages/").content.decode()
    assert "Fix contact details" in page
    assert "Ada Lovelace (H100001)" in page
    assert "Notify 400: phone_number Not a UK mobile number" in page

    # A nurse corrects the number: the patient leaves the list.
    patient = visit.dose.course.patient
    response = nurse_client.post(
        f"/patients/{patient.pk}/edit/",
        {
            "hospital_number": patient.hospital_number,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "date_of_birth": "1970-05-17",
            "mobile_phone": "07400 123456",
            "preferred_channel": "sms",
            "reminders_agreed_on": "2026-01-05",
        },
    )
    assert response.status_code == 302
    assert "Ada Lovelace (H100001)" not in nurse_client.get("/messages/").content.decode()


def test_control_a_visit_cancelled_by_any_door_is_never_reminded(visit, notify, clock):
    """H68: the booking is cancelled behind the outbox's back (a door that forgot to withdraw
    the reminders): the sender's own check at send time still cancels them."""
    sending.send_due()
    Booking.objects.filter(pk=visit.pk).update(status=Booking.Status.CANCELLED)
    clock(VISIT_DAY - timedelta(days=2), 11)
    counts = sending.send_due()
    assert counts == {"cancelled": 2}
    assert len(notify.sent()) == 1  # only the booked notice, sent before
    assert set(
        Message.objects.filter(kind="reminder").values_list("failure_reason", flat=True)
    ) == {"The visit was cancelled or moved before sending."}


def test_control_a_held_patient_is_never_reminded_to_come(visit, notify, clock):
    """H71: a course held without the outbox's hook (any door): reminders are cancelled."""
    sending.send_due()
    TreatmentCourse.objects.filter(pk=visit.dose.course_id).update(status="held")
    clock(VISIT_DAY - timedelta(days=7), 11)
    assert sending.send_due() == {"cancelled": 1}
    assert len(notify.sent()) == 1


def test_control_a_worker_stopped_mid_send_loses_nothing(visit, notify, clock):
    """H69: the worker claimed the message and died before recording the answer: the sweep
    queues it again after 15 minutes, and it is sent."""
    booked = Message.objects.get(kind="booked")
    Message.objects.filter(pk=booked.pk).update(
        status="sending", claimed_at=at(MONDAY, 8), attempts=1
    )
    clock(MONDAY, 8, 20)
    sweep.run()
    booked.refresh_from_db()
    assert booked.status == "sent"
    assert [r["body"]["reference"] for r in notify.sent()] == [str(booked.pk)]


def test_control_no_health_information_reaches_the_patient(unit, nurse, notify, clock):
    """H70 (H9 for messages): a unit whose name and address name the condition and the
    treatment; a patient with a SOD1 variant: nothing of it is sent."""
    from schedules import services
    from tests.factories import make_course, make_slot
    from tests.messaging.conftest import texting_patient

    unit.name = "Tofersen ALS Clinic"
    unit.address = "Motor Neurone Disease Centre\nSt Elsewhere Hospital\nLondon SE1 7EH"
    unit.save()
    clock(MONDAY, 8)
    course = make_course(texting_patient(), start=VISIT_DAY)
    services.book_dose_number(
        course=course, number=1, slot=make_slot(unit, VISIT_DAY, 9), booked_by=nurse
    )
    clock(VISIT_DAY - timedelta(days=2), 11)
    sending.send_due()
    bodies = " ".join(r["body"]["personalisation"]["body"] for r in notify.sent())
    assert len(notify.sent()) == 3
    assert "St Elsewhere Hospital" in bodies
    for word in ["tofersen", "als", "motor neurone", "sod1", "a4v", "dose", "lumbar", "ada"]:
        assert word not in bodies.lower().replace("call", "")
