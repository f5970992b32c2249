"""A small unit's record written as facts (the API only reads them), an API client with its
token, and `fhir_get`, which calls the API the way another system would."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.fhir.models import ApiClient
from schedules.models import (
    AdverseEvent,
    Booking,
    CourseEvent,
    Dose,
    Slot,
    TreatmentCourse,
    Visit,
)
from tests.factories import make_patient

LONDON = ZoneInfo("Europe/London")
NHS_NUMBER = "9434765919"


@pytest.fixture
def api_token(db):
    _, raw = ApiClient.issue(name="Trust EPR")
    return raw


@pytest.fixture
def fhir_get(client, api_token):
    """GET a path of the API with the token; `token=None` sends none."""

    def get(path, token=api_token, **extra):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.get(path, headers=headers, **extra)

    return get


@dataclass
class Record:
    ada: object
    ada_course: object
    grace: object
    grace_course: object
    alan_course: object
    given: list
    not_given_visit: object
    bookings: dict
    plph: object
    myelitis: object
    slots: list


def _slot(unit, day: date, hour=9):
    start = datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)
    return Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=2)


@pytest.fixture
def record(unit, clinician) -> Record:
    """Ada: three loading doses given (dose 2 after a failed lumbar puncture), dose 4 cancelled
    then missed, dose 5 booked; a PLPH after dose 1 and a myelitis after dose 2 that holds her
    course. Grace: no NHS number, course paused. Alan: course stopped."""
    ada = make_patient(
        "H100001", nhs_number=NHS_NUMBER, phone="07700 900123", email="ada@example.org"
    )
    course = TreatmentCourse.objects.create(
        patient=ada, start_date=date(2026, 1, 5), status=TreatmentCourse.Status.HELD
    )
    days = [
        date(2026, 1, 5),  # dose 1 given
        date(2026, 1, 19),  # dose 2: lumbar puncture unsuccessful
        date(2026, 1, 21),  # dose 2 given
        date(2026, 2, 4),  # dose 3 given
        date(2026, 3, 4),  # dose 4 cancelled
        date(2026, 3, 5),  # dose 4 did not attend
        date(2026, 3, 6),  # dose 4 arrived (today in the story)
        date(2026, 4, 1),  # dose 5 booked
    ]
    slots = [_slot(unit, day) for day in days]
    doses = {n: Dose.objects.create(course=course, number=n) for n in range(1, 6)}

    def book(dose, slot, status, **fields):
        return Booking.objects.create(
            dose=dose, slot=slot, status=status, booked_by=clinician, **fields
        )

    bookings = {}
    given = []
    for number, slot in ((1, slots[0]), (2, slots[2]), (3, slots[3])):
        booking = book(doses[number], slot, Booking.Status.FULFILLED)
        Visit.objects.create(booking=booking, arrived_at=slot.start - timedelta(minutes=10))
        dose = doses[number]
        dose.given_at = slot.start + timedelta(minutes=30)
        dose.given_by = clinician
        dose.operator = "Dr Lumbar"
        if number != 3:
            dose.vial_batch, dose.vial_expiry = f"B{number}23", date(2027, 6, 30)
        dose.volume_injected_ml = 15
        dose.save()
        given.append(dose)
        bookings[f"fulfilled{number}"] = booking
    failed = book(
        doses[2], slots[1], Booking.Status.NOT_GIVEN, cancel_reason="Lumbar puncture unsuccessful"
    )
    not_given_visit = Visit.objects.create(
        booking=failed,
        arrived_at=slots[1].start,
        not_given_reason=Visit.NotGivenReason.LP_UNSUCCESSFUL,
        not_given_detail="Three attempts",
    )
    bookings["not_given"] = failed
    bookings["cancelled"] = book(
        doses[4], slots[4], Booking.Status.CANCELLED, cancel_reason="Patient asked to move"
    )
    bookings["noshow"] = book(doses[4], slots[5], Booking.Status.NOSHOW)
    bookings["arrived"] = book(doses[4], slots[6], Booking.Status.ARRIVED)
    Visit.objects.create(booking=bookings["arrived"], arrived_at=slots[6].start)
    bookings["booked"] = book(doses[5], slots[7], Booking.Status.BOOKED)

    plph = AdverseEvent.objects.create(
        course=course,
        dose=doses[1],
        term=AdverseEvent.Term.PLPH,
        onset=date(2026, 1, 6),
        severity=AdverseEvent.Severity.MILD,
        relation=AdverseEvent.Relation.PROCEDURE,
        outcome=AdverseEvent.Outcome.RESOLVED,
        resolved_on=date(2026, 1, 8),
        recorded_by=clinician,
    )
    myelitis = AdverseEvent.objects.create(
        course=course,
        dose=doses[2],
        term=AdverseEvent.Term.MYELITIS,
        onset=date(2026, 2, 1),
        serious=True,
        severity=AdverseEvent.Severity.SEVERE,
        recorded_by=clinician,
    )
    CourseEvent.objects.create(
        course=course,
        kind=CourseEvent.Kind.HOLD,
        on=date(2026, 2, 1),
        reason=CourseEvent.Reason.SERIOUS_EVENT,
        recorded_by=clinician,
    )

    grace = make_patient("H100002", given_name="Grace", family_name="Hopper")
    grace_course = TreatmentCourse.objects.create(
        patient=grace, start_date=date(2026, 2, 2), status=TreatmentCourse.Status.PAUSED
    )
    CourseEvent.objects.create(
        course=grace_course,
        kind=CourseEvent.Kind.PAUSE,
        on=date(2026, 2, 20),
        reason=CourseEvent.Reason.RESPIRATORY,
        recorded_by=clinician,
    )
    alan = make_patient("H100003", given_name="Alan", family_name="Turing")
    alan_course = TreatmentCourse.objects.create(
        patient=alan, start_date=date(2025, 6, 2), status=TreatmentCourse.Status.STOPPED
    )
    CourseEvent.objects.create(
        course=alan_course,
        kind=CourseEvent.Kind.STOP,
        on=date(2025, 12, 1),
        reason=CourseEvent.Reason.PATIENT_CHOICE,
        recorded_by=clinician,
    )
    return Record(
        ada=ada,
        ada_course=course,
        grace=grace,
        grace_course=grace_course,
        alan_course=alan_course,
        given=given,
        not_given_visit=not_given_visit,
        bookings=bookings,
        plph=plph,
        myelitis=myelitis,
        slots=slots,
    )
