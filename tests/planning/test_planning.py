"""The one read path (issue 8): every page reads a course's plan the same way, and dates that
cannot be never answer 500.

Regression tests for the three 500s the issue found (29 February, a 9999 start, a year typo),
the patient list agreeing with the record on a weekend, and the outlook worklists filter on.
"""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from patients.models import Patient
from schedules import outlook, planning, services
from schedules.models import CourseEvent, CourseOutlook, TreatmentCourse, Unit
from tests.factories import at, confirm, make_course, make_patient

MONDAY = date(2026, 3, 2)


def test_patient_page_on_29_february(unit, client, nurse, clinician, clock):
    """Was a 500 (`today.replace(year=…)` has no 29 February a year later)."""
    clock(date(2028, 2, 29), 10)
    nurse_client = client
    nurse_client.force_login(nurse)
    patient = make_patient()
    services.start_course(patient=patient, start_date=date(2028, 2, 1), started_by=clinician)
    response = nurse_client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 200
    assert "Tue 29 Feb 2028" in response.content.decode()  # dose 3, due today
    for name in ("patients:list", "schedules:needs_booking", "schedules:overdue"):
        assert nurse_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("9999-12-31", "Enter a date between 1900 and 2100."),  # the form's range
        ("2062-03-02", "more than a year ahead: check the year"),  # the service's rule
        ("1066-10-14", "Enter a date between 1900 and 2100."),
    ],
)
def test_impossible_course_start_is_refused_with_a_message(
    unit, clinician_client, typed, message, clock
):
    clock(MONDAY, 10)
    patient = make_patient()
    response = clinician_client.post(
        reverse("courses:start", args=[patient.pk]), {"start_date": typed}
    )
    assert response.status_code == 200  # the form again, with the reason
    assert message in response.content.decode()
    assert not TreatmentCourse.objects.exists()


def test_a_start_up_to_a_year_ahead_is_accepted(unit, clinician, clock):
    clock(MONDAY, 10)
    start = MONDAY + timedelta(days=365)
    course = services.start_course(patient=make_patient(), start_date=start, started_by=clinician)
    assert course.outlook.next_due == start
    with pytest.raises(services.CourseError, match="more than a year ahead"):
        services.start_course(
            patient=make_patient("H2"), start_date=start + timedelta(days=1), started_by=clinician
        )


def _every_page(client, patient):
    return [
        reverse("patients:list"),
        reverse("patients:detail", args=[patient.pk]),
        reverse("schedules:needs_booking"),
        reverse("schedules:overdue"),
        reverse("feeds:letter", args=[patient.pk]),
    ]


def test_an_existing_9999_start_breaks_no_page_and_can_be_paused_and_stopped(
    unit, clinician, clinician_client, clock
):
    """Such a course was accepted before the range check: pages answered 500 (OverflowError
    in the engine) and the course could be neither paused nor stopped."""
    clock(MONDAY, 10)
    patient = make_patient()
    course = make_course(patient, start=date(9999, 12, 31))
    assert course.outlook.problem and course.outlook.next_due is None
    for url in _every_page(clinician_client, patient):
        assert clinician_client.get(url).status_code == 200, url
    detail = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "too far from today to plan" in detail

    response = confirm(
        clinician_client,
        reverse("courses:pause", args=[patient.pk, course.pk]),
        {"on": MONDAY.isoformat(), "reason": CourseEvent.Reason.OTHER, "reason_detail": "Typo"},
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.PAUSED
    response = confirm(
        clinician_client,
        reverse("courses:stop", args=[patient.pk, course.pk]),
        {"on": MONDAY.isoformat(), "reason": CourseEvent.Reason.OTHER, "reason_detail": "Typo"},
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.STOPPED
    for url in _every_page(clinician_client, patient):
        assert clinician_client.get(url).status_code == 200, url


def test_a_contradictory_year_can_be_stopped_and_replaced(unit, clinician, clinician_client, clock):
    """A year typo (2062) with a dose already recorded in 2026: the history contradicts itself
    (dose 1 before the start). Pages say so; a clinician stops the course and starts a new one."""
    clock(MONDAY, 10)
    patient = make_patient()
    course = make_course(patient, start=date(2062, 2, 23))
    course.doses.create(number=1, given_at=at(date(2026, 2, 23), 10))
    outlook.refresh_next_due(course)
    page = clinician_client.get(reverse("patients:detail", args=[patient.pk]))
    assert page.status_code == 200
    assert "before the course start" in page.content.decode()
    assert (
        "before the course start"
        in clinician_client.get(reverse("schedules:needs_booking")).content.decode()
    )

    services.stop_course(
        course=course,
        on=MONDAY,
        reason="other",
        recorded_by=clinician,
        reason_detail="Start typed as 2062",
    )
    replacement = services.start_course(
        patient=patient, start_date=date(2026, 2, 23), started_by=clinician
    )
    assert replacement.outlook.next_due == date(2026, 2, 23)
    assert clinician_client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200


def test_outlook_follows_every_service(unit, nurse, clinician, clock):
    """The column worklists filter on is rewritten by the services that change the facts;
    without the refresh a booked dose would stay on Needs booking."""
    from tests.factories import make_slot

    clock(MONDAY, 8)
    course = services.start_course(patient=make_patient(), start_date=MONDAY, started_by=clinician)
    assert CourseOutlook.objects.get(course=course).next_due == MONDAY
    booking = services.book_dose_number(
        course=course, number=1, slot=make_slot(unit, MONDAY, 9), booked_by=nurse
    )
    outlook = CourseOutlook.objects.get(course=course)
    assert (outlook.next_due, outlook.next_number) == (MONDAY + timedelta(days=14), 2)
    services.cancel_booking(booking=booking, reason="Patient asked", cancelled_by=nurse)
    assert CourseOutlook.objects.get(course=course).next_due == MONDAY
    services.pause_course(course=course, on=MONDAY, reason="side_effects", recorded_by=clinician)
    assert CourseOutlook.objects.get(course=course).next_due is None
    services.resume_course(course=course, on=MONDAY, recorded_by=clinician)
    assert CourseOutlook.objects.get(course=course).next_due == MONDAY


def test_nightly_refresh_rewrites_what_was_written_directly(unit, clock):
    clock(MONDAY, 8)
    course = TreatmentCourse.objects.create(patient=make_patient(), start_date=MONDAY)
    out = StringIO()
    call_command("refresh_next_due", stdout=out)
    assert "Refreshed 1 course outlook" in out.getvalue()
    assert CourseOutlook.objects.get(course=course).next_due == MONDAY


@pytest.fixture
def demo_on_a_saturday(db, settings, clock):
    # Saturday 7 March 2026: overdue doses are projected to Monday 9 March.
    clock(date(2026, 3, 7), 11)
    settings.DEBUG = True
    call_command("seed_demo", "--patients", "24", stdout=StringIO())


def test_list_and_record_agree_for_every_demo_patient_on_a_weekend(demo_on_a_saturday, client):
    """Was: the list said "Sat 7 Mar 2026" for an overdue dose, the record Mon 9 Mar."""
    nurse_client = client
    nurse_client.force_login(User.objects.get(username="nurse"))
    rows = nurse_client.get(reverse("patients:list")).context["rows"]
    assert len(rows) == Patient.objects.count() == 24
    compared = 0
    for row in rows:
        detail = nurse_client.get(reverse("patients:detail", args=[row["patient"].pk]))
        timeline = {r.plan.number: r.plan for r in detail.context["timeline"]}
        if row["next"] is None:
            assert all(p.state == "given" for p in timeline.values())
            continue
        shown = timeline[row["next"].number]
        assert (row["next"].date, row["next"].due, row["next"].state) == (
            shown.date,
            shown.due,
            shown.state,
        ), row["patient"]
        if shown.state == "overdue":
            assert shown.date == date(2026, 3, 9)  # the next open day, not Saturday
        compared += 1
    assert compared >= 12


def test_plans_from_values_are_the_plans_from_prefetched_doses(demo_on_a_saturday):
    """The patient list reads facts as plain values: every demo course (given, booked, paused,
    held, stopped) gets the very plan the record's prefetched doses give, dose for dose."""
    unit = Unit.current()
    today = date(2026, 3, 7)
    courses = list(planning.course_queryset())
    from_values = planning.plans_from_values(courses, today=today, unit=unit)
    from_models = planning.plans_for(courses, today=today, unit=unit)
    states = set()
    for course in courses:
        assert from_values[course.pk].doses == from_models[course.pk].doses, course
        assert from_values[course.pk].problem == from_models[course.pk].problem
        states.update(p.state for p in from_models[course.pk])
    assert {"given", "booked", "due", "overdue", "planned"} <= states


@pytest.mark.parametrize("name", ["schedules:needs_booking", "schedules:overdue"])
def test_worklists_page_beyond_fifty_rows(name, unit, nurse_client, clock):
    clock(MONDAY, 8)
    start = (
        MONDAY + timedelta(days=3) if name == "schedules:needs_booking" else MONDAY - timedelta(7)
    )
    for index in range(planning.WORKLIST_PAGE_SIZE + 5):
        make_course(make_patient(f"W{index:03d}", family_name=f"Page{index:03d}"), start=start)
    first = nurse_client.get(reverse(name)).content.decode()
    second = nurse_client.get(reverse(name) + "?page=2").content.decode()
    assert "Page000" in first and "Page029" not in first
    assert "Page029" in second and "Page000" not in second
    assert f"{planning.WORKLIST_PAGE_SIZE + 5} in all" in first


@pytest.mark.no_unit
def test_no_unit_yet_is_a_clear_page_and_reading_writes_nothing(db, nurse_client):
    from schedules.models import Unit

    for name in ("schedules:today", "schedules:needs_booking", "patients:list"):
        response = nurse_client.get(reverse(name))
        assert response.status_code == 503
        assert "No day-care unit is set up yet" in response.content.decode()
    assert not Unit.objects.exists()
