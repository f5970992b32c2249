"""`seed_demo` (DESIGN §4): a realistic unit in one command, safe to run twice, never live."""

import base64
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django_otp.oath import TOTP

from patients.models import Patient
from schedules.models import Booking, Slot, TreatmentCourse


@pytest.fixture
def seeded(db, settings, clock):
    clock(date(2026, 11, 23), 7, 30)  # GMT: London is UTC
    settings.DEBUG = True
    call_command("seed_demo", "--patients", "24", stdout=StringIO())


def test_seed_demo_fills_a_unit_with_patients_at_every_stage(seeded):
    statuses = set(TreatmentCourse.objects.values_list("status", flat=True))

    assert Patient.objects.count() == 24
    assert statuses == {"active", "paused", "stopped"}
    assert Patient.objects.filter(courses__isnull=True).exists()
    assert Patient.objects.filter(sod1_confirmed_on__isnull=True).exists()
    assert Slot.objects.exists()
    assert Booking.objects.filter(status="booked").exists()
    for username, password in [
        ("nurse", "nurse-demo-2026"),
        ("clinician", "clinician-demo-2026"),
        ("admin", "admin-demo-2026"),
    ]:
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password=password) is not None


def test_seed_demo_prints_a_working_second_factor(db, settings, client, clock):
    clock(date(2026, 11, 23), 7, 30)  # GMT: London is UTC
    settings.DEBUG = True
    settings.TWO_FACTOR_REQUIRED = True
    out = StringIO()
    call_command("seed_demo", "--patients", "2", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.strip().startswith("admin"))
    key = line.split("key ")[1].split()[0]
    recovery = line.split("recovery codes ")[1].split()[0]

    client.post("/accounts/login/", {"username": "admin", "password": "admin-demo-2026"})
    assert client.get("/admin/").status_code == 302
    code = f"{TOTP(base64.b32decode(key)).token():06d}"
    assert client.post("/accounts/two-factor/", {"token": code}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "admin", "password": "admin-demo-2026"})
    assert client.post("/accounts/two-factor/", {"token": recovery}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_seed_demo_is_idempotent(seeded):
    counts = (Patient.objects.count(), Booking.objects.count(), Slot.objects.count())

    call_command("seed_demo", stdout=StringIO())

    assert (Patient.objects.count(), Booking.objects.count(), Slot.objects.count()) == counts


def test_seed_demo_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")

    assert not Patient.objects.exists()
