"""The work really runs on Django's task framework (issue 18 §4): the booking's transaction
commits, its message is enqueued on commit, and django-tasks' database worker sends it; the
same task runs on RQ with the Redis server on 127.0.0.1:6379."""

import smtplib
import socket
import threading
import uuid

import pytest
from django.core.management import call_command
from django.db import transaction

from schedules import services
from schedules.messaging import tasks
from schedules.messaging.models import Message, WorkerHeartbeat
from tests.factories import MONDAY, make_course, make_slot
from tests.messaging.conftest import VISIT_DAY, texting_patient


def book_now(unit, nurse):
    course = make_course(texting_patient(), start=VISIT_DAY)
    with transaction.atomic():
        return services.book_dose_number(
            course=course, number=1, slot=make_slot(unit, VISIT_DAY, 9), booked_by=nurse
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_database_worker_sends_what_the_booking_enqueued(unit, nurse, notify, clock):
    clock(MONDAY, 8)
    book_now(unit, nurse)
    booked = Message.objects.get(kind="booked")
    assert booked.status == "pending"  # enqueued on commit, not sent in the request

    call_command("db_worker", "--batch", "--no-startup-delay")

    booked.refresh_from_db()
    assert booked.status == "sent"
    assert [r["body"]["reference"] for r in notify.sent()] == [str(booked.pk)]
    assert WorkerHeartbeat.objects.get(name=tasks.HEARTBEAT).beat_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_rq_backend_on_redis_runs_the_same_task(unit, nurse, notify, clock, settings):
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    queue_name = f"messages-test-{uuid.uuid4().hex[:8]}"
    settings.RQ_QUEUES = {queue_name: {"URL": "redis://127.0.0.1:6379/0"}}
    settings.TASKS = {
        **settings.TASKS,
        "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [queue_name]},
    }
    clock(MONDAY, 8)
    booking = book_now(unit, nurse)
    booked = Message.objects.get(booking=booking, kind="booked")

    result = tasks.send_message.using(backend="rq", queue_name=queue_name).enqueue(booked.pk)
    queue = django_rq.get_queue(queue_name)
    try:
        SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)
    finally:
        queue.delete(delete_jobs=True)

    booked.refresh_from_db()
    assert booked.status == "sent"
    assert result.id
    assert [r["body"]["reference"] for r in notify.sent()] == [str(booked.pk)]


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.received = []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.endswith("@bounce.invalid"):
                return "550 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.received.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 Message accepted"

    with socket.socket() as probe:  # a free port (aiosmtpd checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    controller.received = handler.received
    yield controller
    controller.stop()


def use_smtp(settings, smtp_server):
    settings.NOTIFY_API_KEY = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port


def test_without_notify_an_email_goes_through_the_email_backend(visit, smtp_server, settings):
    from schedules.messaging import sending

    use_smtp(settings, smtp_server)
    patient = visit.dose.course.patient
    patient.preferred_channel, patient.email = "email", "ada@example.org"
    patient.save()
    Message.objects.update(channel="email")

    assert sending.send_due() == {"sent": 1}
    [(to, content)] = smtp_server.received
    assert to == ["ada@example.org"]
    assert "Subject: Your hospital appointment is booked" in content
    assert "Thu 12 Mar 2026 at 09:00" in content


def test_an_address_the_mail_server_refuses_is_a_permanent_failure(visit, smtp_server, settings):
    from schedules.messaging import sending

    use_smtp(settings, smtp_server)
    patient = visit.dose.course.patient
    patient.preferred_channel, patient.email = "email", "nobody@bounce.invalid"
    patient.save()
    Message.objects.update(channel="email")

    assert sending.send_due() == {"permanent_failure": 1}
    assert "refused" in Message.objects.get(kind="booked").failure_reason


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_never_send_a_message_twice(unit, nurse, notify, clock):
    from schedules.messaging import sending
    from tests.factories import make_patient

    clock(MONDAY, 8)
    slot = make_slot(unit, VISIT_DAY, 9, places=40)
    for n in range(30):
        patient = make_patient(
            f"W{n:04d}",
            mobile_phone="+447911123456",
            preferred_channel="sms",
            reminders_agreed_on=MONDAY,
        )
        course = make_course(patient, start=VISIT_DAY)
        services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    assert Message.objects.filter(kind="booked").count() == 30

    barrier = threading.Barrier(2)
    errors = []

    def worker():
        from django.db import connection

        try:
            barrier.wait()
            sending.send_due()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    references = [r["body"]["reference"] for r in notify.sent()]
    assert len(references) == 30
    assert len(set(references)) == 30
    assert Message.objects.filter(kind="booked", status="sent").count() == 30


def test_smtp_is_really_listening(smtp_server):
    with smtplib.SMTP("127.0.0.1", smtp_server.port) as client:
        assert client.noop()[0] == 250
