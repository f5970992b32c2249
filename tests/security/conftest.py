"""The `world` the security tests post to and walk: a unit, an eligible patient with a course,
a booking on Monday 2 March 2026 and a second slot two weeks later."""

from dataclasses import dataclass
from datetime import date

import pytest

from patients.models import Consent, Patient
from schedules import services
from schedules.models import Booking, Slot, TreatmentCourse
from tests.factories import MONDAY, make_patient, make_slot, make_user


@dataclass
class World:
    patient: Patient
    course: TreatmentCourse
    consent: Consent
    slot: Slot
    other_slot: Slot
    booking: Booking


@pytest.fixture
def world(db, unit, clock):
    clock(MONDAY, 8)
    clinician = make_user("booker", "Clinician")
    patient = make_patient()
    course = services.start_course(patient=patient, start_date=MONDAY, started_by=clinician)
    slots = [make_slot(unit, day) for day in [MONDAY, date(2026, 3, 16)]]
    booking = services.book_dose_number(course=course, number=1, slot=slots[0], booked_by=clinician)
    return World(patient, course, patient.consents.first(), slots[0], slots[1], booking)
