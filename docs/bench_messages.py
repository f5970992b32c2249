"""Messages to patients at scale (`make bench`, issue 18 §9). Prints; never asserts.

On a throwaway test database created on the DATABASE_URL server (PostgreSQL in `make bench`):
BENCH_MESSAGES (default 10,000) reminders waiting in the outbox, each for its own patient's
booked visit, are sent through the real GOV.UK Notify client over real HTTP to the local
stand-in (tests/support/notify_standin.py), by django-tasks' database worker
(`manage.py db_worker --batch`) run as one and then two processes. Prints messages per second
for each, and checks every message was sent exactly once.
"""

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = int(os.environ.get("BENCH_MESSAGES", "10000"))


def build(count: int) -> None:
    """`count` patients who agreed to texts, each with a visit booked in three weeks and its
    7-day reminder due now (bulk-written: the benchmark is the sending, not the booking)."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from patients.models import Patient
    from schedules.messaging.models import Message
    from schedules.models import Booking, Dose, Slot, TreatmentCourse, Unit

    unit = Unit.objects.order_by("pk").first() or Unit.objects.create(
        name="Day unit", address="1 Hospital Road\nLondon SE1 7EH", phone="020 7946 0000"
    )
    nurse = User.objects.create_user("bench-nurse")
    now = timezone.now()
    first = now + timedelta(days=21)
    slots = Slot.objects.bulk_create(
        Slot(
            unit=unit,
            start=first + timedelta(hours=h),
            end=first + timedelta(hours=h, minutes=90),
            places=count,
        )
        for h in range(1)
    )
    patients = Patient.objects.bulk_create(
        Patient(
            hospital_number=f"MB{n:06d}",
            given_name="Bench",
            family_name=f"Patient{n}",
            date_of_birth=date(1970, 1, 1),
            mobile_phone=f"+447911{n:06d}",
            preferred_channel="sms",
            reminders_agreed_on=date(2026, 1, 1),
        )
        for n in range(count)
    )
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(patient=p, start_date=first.date()) for p in patients
    )
    doses = Dose.objects.bulk_create(Dose(course=c, number=1) for c in courses)
    bookings = Booking.objects.bulk_create(
        Booking(dose=d, slot=slots[0], booked_by=nurse) for d in doses
    )
    Message.objects.bulk_create(
        Message(
            patient=b.dose.course.patient,
            booking=b,
            kind="reminder",
            channel="sms",
            days_before=7,
            idempotency_key=f"reminder:b{b.pk}:sms:v0:d7",
            subject="Reminder: your hospital appointment",
            body=f"Reminder: you have a hospital appointment on {first:%a %d %b %Y at %H:%M}. "
            "Call 020 7946 0000 to change it.",
            send_after=now,
        )
        for b in bookings
    )


def run(workers: int, env: dict, standin) -> tuple[float, int, int]:
    from schedules.messaging import tasks
    from schedules.messaging.models import Message

    Message.objects.update(status="pending", attempts=0, provider_id="", sent_at=None)
    standin.requests.clear()
    for _ in range(workers):
        tasks.send_due_messages.enqueue()
    started = time.perf_counter()
    processes = [
        subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.wait(timeout=1800)
    seconds = time.perf_counter() - started
    references = [r["body"]["reference"] for r in standin.sent()]
    return seconds, len(references), len(set(references))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tofersen_scheduler.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from tests.support.notify_standin import API_KEY, NotifyStandIn

    config = setup_databases(verbosity=0, interactive=False)
    standin = NotifyStandIn().start()
    try:
        build(COUNT)
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            if connection.vendor == "postgresql"
            else f"sqlite:///{db['NAME']}",
            "DEBUG": "1",
            "NOTIFY_API_KEY": API_KEY,
            "NOTIFY_BASE_URL": standin.url,
            "NOTIFY_SMS_TEMPLATE_ID": "11111111-1111-4111-8111-111111111111",
        }
        connection.close()
        print(f"Messages to patients: {COUNT:,} reminders through the outbox to the Notify")
        print(f"stand-in over real HTTP, django-tasks database worker, on {connection.vendor}")
        for workers in (1, 2):
            seconds, sent, unique = run(workers, env, standin)
            print(
                f"  {workers} worker{'s' if workers > 1 else ' '}: {sent:,} sent "
                f"({unique:,} distinct) in {seconds:.1f} s = {sent / seconds:,.0f} messages/s"
            )
    finally:
        standin.stop()
        connection.close()
        teardown_databases(config, verbosity=0)


if __name__ == "__main__":
    main()
