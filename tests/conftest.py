"""Shared fixtures: the personas (nurse, clinician, admin), the demo unit and patient helpers.

Fixtures only where setup repeats. Each persona is a real user in the group the data migration
created, so permission checks are the production ones.
"""

from datetime import date, time

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import caches

from patients.models import Consent, Patient
from schedules.models import SessionTemplate, Unit

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str, group: str, **extra) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.title(), **extra
    )
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def nurse(db):
    return make_user("nurse", "Nurse")


@pytest.fixture
def clinician(db):
    return make_user("clinician", "Clinician")


@pytest.fixture
def admin_user(db):
    return make_user("admin", "Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


@pytest.fixture
def clinician_client(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture(autouse=True)
def empty_caches():
    """Caches live as long as the process; a test starts with none of another test's."""
    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def installed_unit(request):
    """Every installation has its unit (an admin or `seed_demo` creates it; reading never
    does), so every database test starts with one, not yet open on any day. Mark a test
    `no_unit` to see what happens before the unit is set up."""
    names = request.fixturenames
    if request.node.get_closest_marker("no_unit") or not (
        {"db", "transactional_db"} & set(names) or request.node.get_closest_marker("django_db")
    ):
        return None
    request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    return Unit.objects.create(name="Day-care unit", address="Not set", phone="Not set")


@pytest.fixture
def unit(db, installed_unit):
    """A unit open Monday to Friday with three 2-hour slots of two places from 09:00."""
    unit = installed_unit
    unit.name = "Neurology Day Unit"
    unit.address = "Ward 7, St Elsewhere Hospital, 1 Hospital Road, London SE1 7EH"
    unit.phone = "020 7946 0000"
    unit.save()
    for weekday in range(5):
        SessionTemplate.objects.create(
            unit=unit, weekday=weekday, start_time=time(9), slot_minutes=120, slot_count=3, places=2
        )
    return unit


def make_patient(hospital_number="H100001", *, eligible=True, **fields) -> Patient:
    """A patient; `eligible` adds SOD1 confirmation and both signed consents."""
    defaults = dict(
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=date(1970, 5, 17),
    )
    if eligible:
        defaults.update(sod1_variant="p.Ala5Val (A4V)", sod1_confirmed_on=date(2025, 1, 10))
    defaults.update(fields)
    patient = Patient.objects.create(hospital_number=hospital_number, **defaults)
    if eligible:
        for kind in Consent.Kind.values:
            Consent.objects.create(patient=patient, kind=kind, signed_on=date(2025, 2, 1))
    return patient


@pytest.fixture
def patient(db):
    return make_patient()


VIAL = dict(operator="Dr Lumbar", vial_batch="B123", vial_expiry=date(2099, 1, 1))


def give_dose(dose, given_at, by, **details):
    """Record `dose` given the way the unit does it: when it is booked, the patient arrives and
    the pre-dose checks are done first (DESIGN §2 "Each visit")."""
    from schedules import services

    booking = dose.bookings.active().first()
    if booking is not None:
        if booking.status == "booked":
            services.mark_arrived(booking=booking, marked_by=by)
        services.record_checks(
            booking=booking,
            recorded_by=by,
            identity_confirmed=True,
            blood_sample_taken=True,
            pregnancy="no" if dose.course.patient.could_be_pregnant else "",
        )
    return services.record_administration(
        dose=dose, given_at=given_at, recorded_by=by, **{**VIAL, **details}
    )
