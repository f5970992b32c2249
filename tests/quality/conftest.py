"""A hand-made unit for the quality measures: four patients over January and February 2026,
every fact written down so the measures can be counted by hand (tests/quality/test_measures.py
does the counting in its comments).

Patient A (H000001), course from Mon 5 Jan 2026:
  dose 1 given Mon 5 Jan   — booked 29 Dec, arrived 08:50 for 09:00 (code 5)
  dose 2: booked for Fri 16 Jan on 5 Jan, cancelled by the unit on 8 Jan (code 4)
  dose 2 given Mon 19 Jan  — booked 5 Jan, arrived 09:20 for 09:00, seen (code 6); due 19 Jan
  dose 3: Mon 2 Feb, arrived 08:45, checks done, lumbar puncture unsuccessful (code 5),
          booked 19 Jan
  dose 3 given Fri 6 Feb   — booked 3 Feb, arrived 08:55 (code 5), under X-ray; due 2 Feb
  PLPH from 7 Feb after dose 3, triaged to the blood-patch step; back pain from 6 Jan.
Patient B (H000002), course from Mon 3 Nov 2025, doses 1–3 given 3 Nov, 17 Nov, 1 Dec 2025
  (no bookings, before the period):
  dose 4 given Fri 2 Jan   — booked 1 Dec, arrived 08:55 (code 5); due 29 Dec
  dose 5: Fri 30 Jan did not attend (code 3), booked 2 Jan
  dose 5 given Fri 13 Feb  — booked 31 Jan, arrived 09:30, given (code 6), under CT; due 30 Jan
  myelitis (serious) from 20 Feb: held 20 Feb, resumed after review 2 Mar.
Patient C (H000003), course from Mon 12 Jan 2026:
  dose 1 given Mon 12 Jan  — booked 5 Jan, arrived 08:40 (code 5)
  dose 2: booked for Mon 26 Jan on 12 Jan, cancelled by the pause for patient choice recorded
          20 Jan (code 2); stopped for patient choice 10 Feb.
Patient D (H000004), course from Mon 2 Feb 2026:
  dose 1: Mon 2 Feb, arrived 10:15 for 09:00, not seen, not given "other" (code 7), booked 26 Jan
  dose 1: Mon 9 Feb, booked 2 Feb, nothing recorded yet (no code)

Slots: 2 places each, at 09:00 on 2, 5, 12, 16, 19, 26, 30 Jan and 2, 6, 9, 13 Feb.
Today is Sun 15 Mar 2026.
"""

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

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
TODAY = date(2026, 3, 15)
BLOOD_PATCH_TRIAGE = {
    "onset_within_48h": True,
    "postural": True,
    "severity": "severe",
    "hours_since_onset": 30,
    "conservative_tried": True,
}


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def nov(day: int) -> date:
    return date(2025, 11, day)


def dec(day: int) -> date:
    return date(2025, 12, day)


def jan(day: int) -> date:
    return date(2026, 1, day)


def feb(day: int) -> date:
    return date(2026, 2, day)


class Builder:
    def __init__(self, unit, user):
        self.unit, self.user, self.slots = unit, user, {}

    def slot(self, day: date) -> Slot:
        if day not in self.slots:
            self.slots[day] = Slot.objects.create(
                unit=self.unit, start=at(day), end=at(day, 11), places=2
            )
        return self.slots[day]

    def course(self, number: str, start: date, status="active") -> TreatmentCourse:
        patient = make_patient(number, family_name=f"Patient {number}")
        return TreatmentCourse.objects.create(patient=patient, start_date=start, status=status)

    def dose(self, course, number, given: datetime | None = None, imaging="none") -> Dose:
        dose, _ = Dose.objects.get_or_create(course=course, number=number)
        if given is not None:
            dose.given_at, dose.imaging = given, imaging
            dose.save()
        return dose

    def booking(
        self,
        dose,
        day,
        status,
        *,
        booked_on: date,
        arrived: tuple[int, int] | None = None,
        checks=False,
        not_given="",
        cancelled_at: datetime | None = None,
    ) -> Booking:
        booking = Booking.objects.create(
            dose=dose, slot=self.slot(day), status=status, booked_by=self.user
        )
        Booking.objects.filter(pk=booking.pk).update(
            booked_at=at(booked_on, 11), updated_at=cancelled_at or at(day, 12)
        )
        if arrived is not None:
            Visit.objects.create(
                booking=booking,
                arrived_at=at(day, *arrived),
                checks_at=at(day, *arrived) + timedelta(minutes=5) if checks else None,
                not_given_reason=not_given,
                not_given_detail="Arrived after the list closed" if not_given == "other" else "",
            )
        return booking

    def decision(self, course, kind, on: date, reason: str, recorded_at: datetime):
        event = CourseEvent.objects.create(
            course=course, kind=kind, on=on, reason=reason, recorded_by=self.user
        )
        CourseEvent.objects.filter(pk=event.pk).update(recorded_at=recorded_at)
        return event


@pytest.fixture
def hand_unit(unit, clinician):
    with time_machine.travel(at(TODAY, 12), tick=False):
        yield build_hand_unit(unit, clinician)


def build_hand_unit(unit, user):
    b = Builder(unit, user)
    fulfilled, cancelled = Booking.Status.FULFILLED, Booking.Status.CANCELLED

    a = b.course("H000001", jan(5))
    a1 = b.dose(a, 1, at(jan(5), 10))
    b.booking(a1, jan(5), fulfilled, booked_on=dec(29), arrived=(8, 50), checks=True)
    a2 = b.dose(a, 2, at(jan(19), 10))
    b.booking(a2, jan(16), cancelled, booked_on=jan(5), cancelled_at=at(jan(8), 10))
    b.booking(a2, jan(19), fulfilled, booked_on=jan(5), arrived=(9, 20), checks=True)
    a3 = b.dose(a, 3)
    b.booking(
        a3,
        feb(2),
        Booking.Status.NOT_GIVEN,
        booked_on=jan(19),
        arrived=(8, 45),
        checks=True,
        not_given=Visit.NotGivenReason.LP_UNSUCCESSFUL,
    )
    b.booking(a3, feb(6), fulfilled, booked_on=feb(3), arrived=(8, 55), checks=True)
    a3 = b.dose(a, 3, at(feb(6), 10), imaging=Dose.Imaging.XRAY)
    AdverseEvent.objects.create(
        course=a, dose=a3, term="plph", onset=feb(7), recorded_by=user, triage=BLOOD_PATCH_TRIAGE
    )
    AdverseEvent.objects.create(course=a, dose=a1, term="back_pain", onset=jan(6), recorded_by=user)

    c_b = b.course("H000002", nov(3))
    for number, day in ((1, nov(3)), (2, nov(17)), (3, dec(1))):
        b.dose(c_b, number, at(day, 10))
    b4 = b.dose(c_b, 4, at(jan(2), 10))
    b.booking(b4, jan(2), fulfilled, booked_on=dec(1), arrived=(8, 55), checks=True)
    b5 = b.dose(c_b, 5)
    b.booking(b5, jan(30), Booking.Status.NOSHOW, booked_on=jan(2))
    b.booking(b5, feb(13), fulfilled, booked_on=jan(31), arrived=(9, 30), checks=True)
    b.dose(c_b, 5, at(feb(13), 10), imaging=Dose.Imaging.CT)
    AdverseEvent.objects.create(
        course=c_b, term="myelitis", onset=feb(20), serious=True, recorded_by=user
    )
    b.decision(c_b, "hold", feb(20), "serious_event", at(feb(20), 15))
    b.decision(c_b, "resume", date(2026, 3, 2), "review", at(date(2026, 3, 2), 15))

    c = b.course("H000003", jan(12), status=TreatmentCourse.Status.STOPPED)
    c1 = b.dose(c, 1, at(jan(12), 10))
    b.booking(c1, jan(12), fulfilled, booked_on=jan(5), arrived=(8, 40), checks=True)
    c2 = b.dose(c, 2)
    pause_recorded = at(jan(20), 10)
    b.booking(
        c2,
        jan(26),
        cancelled,
        booked_on=jan(12),
        cancelled_at=pause_recorded + timedelta(seconds=1),
    )
    b.decision(c, "pause", jan(20), "patient_choice", pause_recorded)
    b.decision(c, "stop", feb(10), "patient_choice", at(feb(10), 10))

    d = b.course("H000004", feb(2))
    d1 = b.dose(d, 1)
    b.booking(
        d1,
        feb(2),
        Booking.Status.NOT_GIVEN,
        booked_on=jan(26),
        arrived=(10, 15),
        not_given=Visit.NotGivenReason.OTHER,
    )
    b.booking(d1, feb(9), Booking.Status.BOOKED, booked_on=feb(2))
    return SimpleNamespace(a=a, b=c_b, c=c, d=d, user=user)
