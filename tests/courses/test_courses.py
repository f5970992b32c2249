"""A clinician's decisions: consents, starting, pausing, resuming and stopping a course, and
recording a dose given. Each refusal shows a message a nurse or clinician understands."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from patients.models import Consent
from schedules import services
from schedules.models import CourseEvent, Dose, Slot, TreatmentCourse
from tests.factories import MONDAY, confirm, make_patient

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def frozen_clock(clock):
    clock(MONDAY, 10, 0)


def timeline_rows(client, patient):
    """(number, phase, state) per row of the patient's timeline, as a nurse reads it."""
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    rows = []
    for chunk in page.split('<tr data-dose="')[1:]:
        number = int(chunk.split('"', 1)[0])
        cells = chunk.split("</tr>", 1)[0]
        phase = "Loading" if ">Loading</span>" in cells else "Maintenance"
        state = next(
            s for s in ["Given", "Booked", "Overdue", "Due", "Planned"] if f">{s}</span>" in cells
        )
        rows.append((number, phase, state))
    return rows


def test_clinician_records_consent(clinician_client):
    patient = make_patient(eligible=False, sod1_variant="p.Ala5Val", sod1_confirmed_on=TODAY)

    response = clinician_client.post(
        reverse("patients:consent_add", args=[patient.pk]),
        {"kind": "hospital", "signed_on": "2026-03-01", "reference": "SCAN-1"},
    )

    assert response.status_code == 302
    consent = patient.consents.get()
    assert consent.reference == "SCAN-1"
    assert consent.recorded_by.username == "clinician"


def test_nurse_cannot_record_consent_or_start_a_course(nurse_client, patient):
    assert nurse_client.get(reverse("patients:consent_add", args=[patient.pk])).status_code == 403
    response = nurse_client.post(
        reverse("courses:start", args=[patient.pk]), {"start_date": "2026-03-02"}
    )
    assert response.status_code == 403
    assert not TreatmentCourse.objects.exists()


def test_clinician_starts_a_course_and_the_timeline_shows_the_loading_doses(
    clinician_client, patient
):
    response = clinician_client.post(
        reverse("courses:start", args=[patient.pk]), {"start_date": "2026-03-02"}
    )

    assert response.status_code == 302
    assert TreatmentCourse.objects.get(patient=patient).start_date == TODAY
    rows = timeline_rows(clinician_client, patient)
    assert rows[:4] == [
        (1, "Loading", "Due"),
        (2, "Loading", "Planned"),
        (3, "Loading", "Planned"),
        (4, "Maintenance", "Planned"),
    ]
    page = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    # Day 0, 14, 28, then 28 days after dose 3.
    for shown in ["Mon 2 Mar 2026", "Mon 16 Mar 2026", "Mon 30 Mar 2026", "Mon 27 Apr 2026"]:
        assert shown in page


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("sod1", "Genetic testing confirming a SOD1 mutation is not recorded"),
        ("hospital", "No signed hospital consent form on file"),
        ("early_access", "No signed manufacturer early-access consent form on file"),
        ("withdrawn", "No signed hospital consent form on file"),
    ],
)
def test_starting_is_refused_without_sod1_and_both_consents(clinician_client, missing, message):
    patient = make_patient()
    if missing == "sod1":
        patient.sod1_variant, patient.sod1_confirmed_on = "", None
        patient.save()
    elif missing == "withdrawn":
        patient.consents.filter(kind="hospital").update(withdrawn_on=date(2026, 2, 1))
    else:
        patient.consents.filter(kind=missing).delete()

    response = clinician_client.post(
        reverse("courses:start", args=[patient.pk]), {"start_date": "2026-03-02"}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TreatmentCourse.objects.exists()


def test_one_open_course_per_patient_is_enforced_by_the_database(patient, clinician):
    services.start_course(patient=patient, start_date=TODAY, started_by=clinician)

    with pytest.raises(services.CourseError, match="already has a treatment course"):
        services.start_course(patient=patient, start_date=TODAY, started_by=clinician)
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentCourse.objects.create(patient=patient, start_date=TODAY)


def test_pause_requires_a_reason_and_other_needs_details(clinician_client, patient, clinician):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)
    url = reverse("courses:pause", args=[patient.pk, course.pk])

    no_reason = clinician_client.post(url, {"on": "2026-03-02", "reason": ""})
    other = clinician_client.post(url, {"on": "2026-03-02", "reason": "other"})

    assert "This field is required" in no_reason.content.decode()
    assert "Say why" in other.content.decode()
    course.refresh_from_db()
    assert course.status == "active"
    assert not CourseEvent.objects.exists()


def test_pause_then_resume_makes_the_next_dose_due_as_soon_as_possible(
    clinician_client, patient, clinician, clock
):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)
    confirm(
        clinician_client,
        reverse("courses:pause", args=[patient.pk, course.pk]),
        {"on": "2026-03-02", "reason": "spinal"},
    )
    assert timeline_rows(clinician_client, patient) == []
    page = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Treatment is paused" in page

    clock(date(2026, 4, 20), 10, 0)
    clinician_client.force_login(clinician)  # weeks later: the 8-hour session has expired
    response = confirm(
        clinician_client,
        reverse("courses:resume", args=[patient.pk, course.pk]),
        {"on": "2026-04-20", "restart_loading": "on"},
    )

    assert response.status_code == 302
    event = course.events.get(kind="resume")
    assert event.restart_loading is True
    assert event.recorded_by == clinician
    rows = timeline_rows(clinician_client, patient)
    assert rows[0] == (1, "Loading", "Due")
    page = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Mon 20 Apr 2026" in page
    assert "Spinal change making lumbar puncture unsafe" in page


def test_stop_closes_the_course_and_a_new_one_may_start(clinician_client, patient, clinician):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)

    confirm(
        clinician_client,
        reverse("courses:stop", args=[patient.pk, course.pk]),
        {"on": "2026-03-02", "reason": "patient_choice"},
    )

    course.refresh_from_db()
    assert course.status == "stopped"
    assert services.start_course(patient=patient, start_date=TODAY, started_by=clinician)


def test_course_dates_cannot_be_in_the_future_or_before_the_start(patient, clinician):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)

    with pytest.raises(services.CourseError, match="cannot be in the future"):
        services.pause_course(
            course=course, on=date(2026, 3, 9), reason="side_effects", recorded_by=clinician
        )
    with pytest.raises(services.CourseError, match="before the course started"):
        services.pause_course(
            course=course, on=date(2026, 3, 1), reason="side_effects", recorded_by=clinician
        )


def test_resume_is_refused_when_consent_was_withdrawn(patient, clinician):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)
    services.pause_course(course=course, on=TODAY, reason="side_effects", recorded_by=clinician)
    Consent.objects.filter(kind="early_access").update(withdrawn_on=TODAY)

    with pytest.raises(services.CourseError, match="early-access consent"):
        services.resume_course(course=course, on=TODAY, recorded_by=clinician)


def test_clinician_records_a_dose_given_and_the_next_is_counted_from_it(
    clinician_client, patient, clinician
):
    course = services.start_course(
        patient=patient, start_date=date(2026, 2, 23), started_by=clinician
    )

    response = clinician_client.post(
        reverse("courses:dose_record", args=[patient.pk, course.pk, 1]),
        {
            "given_at": "2026-03-02T09:30",
            "operator": "Dr Lumbar",
            "needle": "22G atraumatic",
            "imaging": "none",
            "csf_removed_ml": "10",
            "vial_batch": "QX123",
            "vial_expiry": "2027-01-31",
            # No visit here: a clinician's record with a reason and the checks (issue 17).
            "override_reason": "Given at the referring hospital",
            "checked_by": "Sister Ward, referring hospital",
            "identity_confirmed": "on",
            "blood_sample_taken": "on",
        },
    )

    assert response.status_code == 302
    dose = Dose.objects.get(course=course, number=1)
    assert dose.given_at == datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)
    assert dose.given_by == clinician
    rows = timeline_rows(clinician_client, patient)
    assert rows[:2] == [(1, "Loading", "Given"), (2, "Loading", "Due")]
    page = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    # Dose 1 was a week late: dose 2 is 14 days after the day it was given, not after the plan.
    assert "Mon 16 Mar 2026" in page
    assert "Mon 9 Mar 2026" not in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"given_at": "2026-03-02T10:30"}, "cannot be in the future"),
        ({"vial_expiry": "2026-03-01"}, "vial had expired"),
        ({"vial_batch": ""}, "This field is required"),
    ],
)
def test_refused_dose_record_leaves_nothing_behind(
    clinician_client, patient, clinician, changes, message
):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)
    data = {
        "given_at": "2026-03-02T09:30",
        "operator": "Dr Lumbar",
        "imaging": "none",
        "vial_batch": "QX123",
        "vial_expiry": "2027-01-31",
    }

    response = clinician_client.post(
        reverse("courses:dose_record", args=[patient.pk, course.pk, 1]), {**data, **changes}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Dose.objects.exists()


def test_nurse_cannot_record_a_dose(nurse_client, patient, clinician):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)

    url = reverse("courses:dose_record", args=[patient.pk, course.pk, 1])

    assert nurse_client.get(url).status_code == 403


def test_withdrawing_consent_cancels_future_bookings(clinician_client, patient, clinician, unit):
    course = services.start_course(patient=patient, start_date=TODAY, started_by=clinician)
    services.generate_slots(unit=unit, weeks=1)
    slot = next(s for s in Slot.objects.order_by("start") if s.start > timezone.now())
    booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=clinician)
    consent = patient.consents.get(kind="early_access")

    response = clinician_client.post(
        reverse("patients:consent_withdraw", args=[patient.pk, consent.pk]),
        {"withdrawn_on": "2026-03-02"},
        follow=True,
    )

    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert booking.cancel_reason == "Manufacturer early-access consent form withdrawn"
    page = response.content.decode()
    assert "1 future booking(s) cancelled" in page
    assert "No signed manufacturer early-access consent form on file" in page
    course.refresh_from_db()
    assert course.status == "held"
    with pytest.raises(services.CourseNotActive, match="on hold"):
        services.book_dose_number(course=course, number=1, slot=slot, booked_by=clinician)


def test_consent_cannot_be_withdrawn_before_it_was_signed(clinician_client, patient):
    consent = patient.consents.get(kind="hospital")

    response = clinician_client.post(
        reverse("patients:consent_withdraw", args=[patient.pk, consent.pk]),
        {"withdrawn_on": "2025-01-01"},
    )

    assert "cannot be withdrawn before it was signed" in response.content.decode()
    consent.refresh_from_db()
    assert consent.withdrawn_on is None


def test_timeline_says_when_a_due_date_falls_on_a_closed_day(
    nurse_client, patient, clinician, unit
):
    # Day 0 on a Saturday: doses 1-3 (days 0, 14, 28) all fall on Saturdays.
    services.start_course(patient=patient, start_date=date(2026, 3, 7), started_by=clinician)

    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()

    dose_1 = page.split('<tr data-dose="1"')[1].split("</tr>")[0]
    assert "Sat 7 Mar 2026" in dose_1
    assert "(unit closed)" in dose_1
    dose_4 = page.split('<tr data-dose="4"')[1].split("</tr>")[0]  # day 56: also a Saturday
    assert "(unit closed)" in dose_4


def test_timeline_warns_only_on_closed_days(nurse_client, patient, clinician, unit):
    services.start_course(patient=patient, start_date=date(2026, 3, 9), started_by=clinician)

    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()

    rows = {n: page.split(f'<tr data-dose="{n}"')[1].split("</tr>")[0] for n in (1, 2, 3)}
    assert "(unit closed)" not in rows[1] + rows[2]  # Mondays 9 and 23 March
    assert "Mon 6 Apr 2026" in rows[3]
    assert "(unit closed)" in rows[3]  # Easter Monday, a bank holiday in England
