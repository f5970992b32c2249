"""Data builders and the one frozen clock, shared by every test package.

Fixtures (personas, the unit) live in `tests/conftest.py`; plain functions that build rows or
freeze time live here, so no test module imports another.
"""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from patients.models import Consent, Patient
from schedules import outlook, services
from schedules.models import Booking, Dose, Slot, TreatmentCourse

PASSWORD = "correct-horse-battery-staple"
LONDON = ZoneInfo("Europe/London")
# A Monday in March 2026, before the unit opens: the day most tests live on.
MONDAY = date(2026, 3, 2)
VIAL = dict(operator="Dr Lumbar", vial_batch="B123", vial_expiry=date(2099, 1, 1))
# A dose with no visit here (issue 17 "One door"): a clinician's record with a reason and who
# did the pre-dose checks.
GIVEN_ELSEWHERE = dict(
    override_reason="Given at the referring hospital (paper record)",
    elsewhere_checks={
        "checked_by": "Sister Ward, referring hospital",
        "identity_confirmed": True,
        "blood_sample_taken": True,
    },
)


# The clock -----------------------------------------------------------------------------------


def at(day: date, hour: int = 8, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time on `day` in the unit's zone (Europe/London)."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LONDON)


def moment(day: date | datetime, hour: int = 8, minute: int = 0, second: int = 0) -> datetime:
    """`day` at that London wall-clock time, or `day` itself when it is already an aware
    datetime (a test about UTC against London names its instant in UTC)."""
    if isinstance(day, datetime):
        assert day.tzinfo is not None, "a naive datetime is no instant"
        return day
    return at(day, hour, minute, second)


def frozen(day=MONDAY, hour: int = 8, minute: int = 0, second: int = 0, *, tick: bool = False):
    """THE frozen clock: `with frozen(MONDAY, 9, 5):` (or as a decorator) stops time at that
    London wall-clock time; `frozen(instant)` at an aware datetime. `tick=True` lets it run on
    from there, for browser tests whose page timers must advance. Inside a test, the `clock`
    fixture (tests/conftest.py) moves the same clock: `clock(MONDAY, 9, 5)`, `clock.shift(…)`."""
    return time_machine.travel(moment(day, hour, minute, second), tick=tick)


# People --------------------------------------------------------------------------------------


def make_user(username: str, group: str, **extra) -> User:
    """A real user in one of the roles the data migration created (Nurse, Clinician, Admin)."""
    user = User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.title(), **extra
    )
    user.groups.add(Group.objects.get(name=group))
    return user


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


# Courses, slots, bookings --------------------------------------------------------------------


def make_course(patient, start: date = MONDAY) -> TreatmentCourse:
    """A course written directly (no eligibility check), with its worklist outlook."""
    course = TreatmentCourse.objects.create(patient=patient, start_date=start)
    outlook.refresh_next_due(course)
    return course


def make_slot(unit, day: date, hour: int = 9, places: int = 2) -> Slot:
    """A new two-hour slot from `hour` on `day`."""
    start = at(day, hour)
    return Slot.objects.create(
        unit=unit, start=start, end=start + timedelta(hours=2), places=places
    )


def open_slot(unit, day: date, hour: int = 9, places: int = 6) -> Slot:
    """The two-hour slot from `hour` on `day`, made if it does not exist yet."""
    start = at(day, hour)
    slot, _ = Slot.objects.get_or_create(
        unit=unit, start=start, defaults={"end": start + timedelta(hours=2), "places": places}
    )
    return slot


def book(course, number, slot, user, reason=""):
    return services.book_dose_number(
        course=course, number=number, slot=slot, booked_by=user, override_reason=reason
    )


def book_url(course, number=1) -> str:
    return reverse("schedules:book", args=[course.pk, number])


def booking_of(course, number) -> Booking:
    return Booking.objects.active().get(dose__course=course, dose__number=number)


# Doses 1–6 given on their due days; dose 7 due Tue 10 Mar 2026, dose 8 four weeks after.
PREVIEW_START = date(2025, 10, 21)
PREVIEW_OFFSETS = [0, 14, 28, 56, 84, 112]
DOSE_7 = date(2026, 3, 10)
DOSE_8 = date(2026, 4, 7)


def six_doses_given(patient) -> TreatmentCourse:
    """Doses 1-6 given on their due days from PREVIEW_START: dose 7 due Tue 10 Mar 2026."""
    course = TreatmentCourse.objects.create(patient=patient, start_date=PREVIEW_START)
    for number, offset in enumerate(PREVIEW_OFFSETS, start=1):
        Dose.objects.create(
            course=course, number=number, given_at=at(PREVIEW_START + timedelta(days=offset), 10)
        )
    outlook.refresh_next_due(course)
    return course


def course_with_doses_7_and_8_booked(patient, unit, nurse) -> TreatmentCourse:
    """Six doses given, dose 7 booked on its due day and dose 8 on its own."""
    course = TreatmentCourse.objects.create(patient=patient, start_date=PREVIEW_START)
    for number, offset in enumerate(PREVIEW_OFFSETS, start=1):
        Dose.objects.create(
            course=course, number=number, given_at=at(PREVIEW_START + timedelta(days=offset), 10)
        )
    for number, day in ((7, DOSE_7), (8, DOSE_8)):
        services.book_dose_number(
            course=course, number=number, slot=open_slot(unit, day), booked_by=nurse
        )
    outlook.refresh_next_due(course)
    return course


# The visit -----------------------------------------------------------------------------------


def arrive_and_check(booking, user, **checks):
    services.mark_arrived(booking=booking, marked_by=user)
    fields = dict(identity_confirmed=True, blood_sample_taken=True) | checks
    return services.record_checks(booking=booking, recorded_by=user, **fields)


def give(booking, user, when=None, **details):
    """Record the booked dose given (checks already done), by default now (at the visit,
    after the arrival and the checks)."""
    return services.record_administration(
        dose=booking.dose, given_at=when or timezone.now(), recorded_by=user, **VIAL | details
    )


def give_dose(dose, given_at, by, **details):
    """Record `dose` given the way the unit does it: when it is booked, the patient arrives and
    the pre-dose checks are done first (DESIGN §2 "Each visit"); with no booking, as given
    elsewhere (a clinician's record with a reason and the checks)."""
    booking = dose.bookings.active().first()
    if booking is None:
        details = {**GIVEN_ELSEWHERE, **details}
    else:
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


# Pages with a change preview -----------------------------------------------------------------


def confirm(client, url, data, **extra):
    """POST `data` to a page with a change preview, the way the page is used: preview, then
    confirm what was shown. Returns the confirming response."""
    shown = client.post(url, {**data, "preview": "1"}).content.decode()
    match = re.search(r'name="previewed" value="([0-9a-f]+)"', shown)
    previewed = match[1] if match else ""
    return client.post(url, {**data, "previewed": previewed}, **extra)


# People and places (issue 19) -----------------------------------------------------------------


def make_operator(username: str, *, until: date, guided: bool = False, signer=None) -> User:
    """A clinician on the lumbar-puncture competency register, valid until `until`."""
    from schedules.models import Competency

    operator = make_user(username, "Clinician", last_name="Operator")
    Competency.objects.create(
        operator=operator,
        procedure=(Competency.Procedure.IMAGE_GUIDED if guided else Competency.Procedure.UNGUIDED),
        valid_until=until,
        signed_off_by=signer or operator,
        signed_off_on=date(2025, 1, 1),
    )
    return operator


def on_rota(slot, *operators) -> None:
    """Put `operators` on the rota of `slot`'s session that day."""
    from schedules.models import RotaEntry

    for operator in operators:
        RotaEntry.objects.get_or_create(
            template_id=slot.template_id, day=slot.local_date, operator=operator
        )


def imaging_list(slot, places: int = 2):
    from schedules.models import ImagingList

    return ImagingList.objects.create(
        template_id=slot.template_id, day=slot.local_date, places=places
    )
