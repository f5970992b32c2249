"""`seed_demo` (DESIGN §4): a realistic unit in one command, safe to run twice, never live."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from patients.models import Patient
from schedules.models import Booking, Slot, TreatmentCourse


@pytest.fixture
def seeded(db, settings, time_machine):
    time_machine.move_to("2026-11-23 07:30:00+00:00", tick=False)
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
        assert authenticate(username=username, password=password) is not None


def test_seed_demo_is_idempotent(seeded):
    counts = (Patient.objects.count(), Booking.objects.count(), Slot.objects.count())

    call_command("seed_demo", stdout=StringIO())

    assert (Patient.objects.count(), Booking.objects.count(), Slot.objects.count()) == counts


def test_seed_demo_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")

    assert not Patient.objects.exists()
