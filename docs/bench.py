"""Performance figures for the calendar feeds and the nurses' pages (`make bench`). Prints;
never asserts.

Builds a throwaway SQLite database with one patient who has ten years of fortnightly-then-
four-weekly doses (each given, with its fulfilled booking) and the next visits booked, then
times through Django's test client, in process:

- the patient's feed, built from scratch (200),
- the same feed answered from its ETag (304, no calendar built),
- the staff feed of the unit (200) and its 304,
- /healthz, which touches no database: the floor for any request through the stack.

Then it loads `seed_demo` with 200 patients and times the pages a nurse opens all day: the
patient list, a patient's page, Needs booking, Overdue & rebook, today's list and the month.

Figures are per request, median and 95th percentile over many runs, on this machine.
"""

import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "200"))
YEARS = 10


def configure(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    # Production-like: DEBUG off (no query log kept), plain HTTP from the test client.
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="bench-only-throwaway-database",  # noqa: S106 - a scratch database
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tofersen_scheduler.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed() -> tuple[str, str, int]:
    """One patient, ten years of doses; returns (patient token, staff token, dose count)."""
    from django.contrib.auth.models import Group, User

    from patients.models import Consent, Patient
    from patients.services import issue_feed_link, issue_staff_feed_link
    from schedules.models import Booking, Dose, Slot, TreatmentCourse, Unit

    zone = ZoneInfo("Europe/London")
    unit = Unit.objects.create(
        name="Neurology Day Unit",
        address="Ward 7, St Elsewhere Hospital, 1 Hospital Road, London SE1 7EH",
        phone="020 7946 0000",
    )
    nurse = User.objects.create_user("bench-nurse")
    nurse.groups.add(Group.objects.get(name="Nurse"))
    patient = Patient.objects.create(
        hospital_number="BENCH1",
        given_name="Bench",
        family_name="Patient",
        date_of_birth=date(1960, 1, 1),
        sod1_variant="p.Ala5Val (A4V)",
        sod1_confirmed_on=date(2015, 1, 1),
    )
    for kind in Consent.Kind.values:
        Consent.objects.create(patient=patient, kind=kind, signed_on=date(2015, 1, 1))

    today = date.today()
    start = today - timedelta(days=365 * YEARS)
    course = TreatmentCourse.objects.create(patient=patient, start_date=start)
    day, number, rows = start, 1, []
    while day < today + timedelta(days=60):
        rows.append((number, day))
        day += timedelta(days=14 if number < 3 else 28)
        number += 1
    for number, day in rows:
        begins = datetime.combine(day, datetime.min.time(), tzinfo=zone).replace(hour=9)
        slot = Slot.objects.create(
            unit=unit, start=begins, end=begins + timedelta(hours=2), places=2
        )
        given = day < today
        dose = Dose.objects.create(
            course=course, number=number, given_at=begins + timedelta(minutes=30) if given else None
        )
        Booking.objects.create(
            dose=dose,
            slot=slot,
            booked_by=nurse,
            status=Booking.Status.FULFILLED if given else Booking.Status.BOOKED,
        )
    return (
        issue_feed_link(patient=patient, issued_by=nurse),
        issue_staff_feed_link(user=nurse),
        len(rows),
    )


def timed(client, path: str, expect: int, runs: int = RUNS, **headers) -> list[float]:
    response = client.get(path, **headers)
    assert response.status_code == expect, (path, response.status_code)
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(path, **headers)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def count_queries(connection, request) -> int:
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        request()
    return count


def report(label: str, samples: list[float], extra: str = "") -> None:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{label:<44} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
        f"({1000 / statistics.median(ordered):6.0f}/s){extra}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        configure(Path(scratch) / "bench.sqlite3")
        from django.db import connection
        from django.test import Client
        from django.urls import reverse

        patient_token, staff_token, doses = seed()
        client = Client()
        feed = reverse("feeds:patient_feed", kwargs={"token": patient_token})
        staff = reverse("feeds:staff_feed", kwargs={"token": staff_token})

        first = client.get(feed)
        etag, size = first["ETag"], len(first.content)
        built = count_queries(connection, lambda: client.get(feed))
        conditional = count_queries(connection, lambda: client.get(feed, HTTP_IF_NONE_MATCH=etag))
        staff_etag = client.get(staff)["ETag"]

        print(f"Calendar feeds, {RUNS} requests each, SQLite, Django test client (in process)")
        print(f"Patient with {YEARS} years of doses: {doses} doses, feed {size} bytes\n")
        report(
            "patient feed, built (200)",
            timed(client, feed, 200),
            f"   {built} queries",
        )
        report(
            "patient feed, If-None-Match (304)",
            timed(client, feed, 304, HTTP_IF_NONE_MATCH=etag),
            f"   {conditional} queries",
        )
        report("staff feed, built (200)", timed(client, staff, 200))
        report(
            "staff feed, If-None-Match (304)",
            timed(client, staff, 304, HTTP_IF_NONE_MATCH=staff_etag),
        )
        report("/healthz (floor, no database)", timed(client, "/healthz", 200))
        nurse_pages(connection)


def nurse_pages(connection) -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.urls import reverse

    from patients.models import Patient

    # seed_demo refuses to run with DEBUG off; this database is a scratch copy.
    with override_settings(DEBUG=True):
        call_command("seed_demo", patients=200, stdout=open(os.devnull, "w"))  # noqa: SIM115
    client = Client()
    client.force_login(User.objects.get(username="nurse"))
    patient = Patient.objects.filter(courses__status="active").first()
    pages = [
        ("patient list (50 of 200 patients)", reverse("patients:list")),
        ("patient page", reverse("patients:detail", args=[patient.pk])),
        ("needs booking", reverse("schedules:needs_booking")),
        ("overdue & rebook", reverse("schedules:overdue")),
        ("today's list", reverse("schedules:today")),
        ("calendar month", reverse("schedules:calendar")),
    ]
    runs = max(RUNS // 10, 5)
    print(f"\nNurses' pages, seed_demo with 200 patients, {runs} requests each")
    # Static files are served by WhiteNoise in production; here the plain storage avoids
    # needing a collected manifest.
    plain = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        for label, path in pages:
            queries = count_queries(connection, lambda path=path: client.get(path))
            report(label, timed(client, path, 200, runs=runs), f"   {queries} queries")


if __name__ == "__main__":
    main()
