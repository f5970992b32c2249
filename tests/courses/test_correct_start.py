"""Correcting a course's start date typed wrong (issue 8: "a course with an impossible date can
still be paused, stopped or corrected by a clinician")."""

from datetime import date, timedelta

from django.urls import reverse

from schedules import services
from schedules.models import Booking, CourseEvent, CourseOutlook
from tests.factories import at, book, make_course, make_patient, make_slot

MONDAY = date(2026, 3, 2)


def _url(course):
    return reverse("courses:correct_start", args=[course.patient_id, course.pk])


def test_a_year_typo_is_corrected_and_the_plan_follows(unit, clinician, clinician_client, clock):
    clock(MONDAY, 10)
    course = make_course(make_patient(), start=date(2027, 3, 2))  # meant 2026
    assert CourseOutlook.objects.get(course=course).next_due == date(2027, 3, 2)

    page = clinician_client.get(_url(course))
    assert "There are no future bookings to cancel." in page.content.decode()
    response = clinician_client.post(
        _url(course), {"start_date": "2026-03-02", "reason": "Year typed wrong"}, follow=True
    )
    assert "The course now starts on Mon 2 Mar 2026" in response.content.decode()
    assert "Reprint the schedule letter" in response.content.decode()
    course.refresh_from_db()
    assert course.start_date == MONDAY
    assert CourseOutlook.objects.get(course=course).next_due == MONDAY
    last = course.history.first()
    assert (last.history_user, last.history_change_reason) == (clinician, "Year typed wrong")


def test_bookings_made_from_the_wrong_start_are_listed_then_cancelled(
    unit, nurse, clinician, clinician_client, clock
):
    clock(MONDAY, 10)
    course = make_course(make_patient(), start=MONDAY + timedelta(days=7))
    booking = book(course, 1, make_slot(unit, MONDAY + timedelta(days=7)), nurse)

    page = clinician_client.get(_url(course)).content.decode()
    assert "These bookings were made from the old start and will be cancelled" in page
    assert "Dose 1:" in page
    clinician_client.post(_url(course), {"start_date": "2026-03-03", "reason": "Wrong week"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancel_reason == "Course start date corrected"


def test_refused_once_a_dose_is_given(unit, clinician, clinician_client, clock):
    """A given dose anchors the schedule: the start can no longer move under it."""
    clock(MONDAY, 10)
    course = make_course(make_patient(), start=MONDAY - timedelta(days=7))
    course.doses.create(number=1, given_at=at(MONDAY - timedelta(days=7), 10))
    response = clinician_client.post(_url(course), {"start_date": "2026-02-20", "reason": "x"})
    assert response.status_code == 200
    assert "the start date can no longer be corrected" in response.content.decode()
    course.refresh_from_db()
    assert course.start_date == MONDAY - timedelta(days=7)
    detail = clinician_client.get(reverse("patients:detail", args=[course.patient_id]))
    assert "Correct start date" not in detail.content.decode()


def test_refused_for_a_start_more_than_a_year_ahead_or_after_a_decision(
    unit, clinician, clinician_client, clock
):
    clock(MONDAY, 10)
    course = make_course(make_patient(), start=MONDAY - timedelta(days=30))
    response = clinician_client.post(_url(course), {"start_date": "2062-03-02", "reason": "x"})
    assert "more than a year ahead: check the year" in response.content.decode()
    services.pause_course(
        course=course, on=MONDAY - timedelta(days=2), reason="side_effects", recorded_by=clinician
    )
    response = clinician_client.post(_url(course), {"start_date": "2026-03-01", "reason": "x"})
    assert "a course cannot start after its own decisions" in response.content.decode()
    course.refresh_from_db()
    assert course.start_date == MONDAY - timedelta(days=30)
    assert course.events.filter(kind=CourseEvent.Kind.PAUSE).count() == 1


def test_an_existing_9999_start_can_be_corrected(unit, clinician, clinician_client, clock):
    clock(MONDAY, 10)
    course = make_course(make_patient(), start=date(9999, 12, 31))
    detail = clinician_client.get(reverse("patients:detail", args=[course.patient_id]))
    assert "Correct start date" in detail.content.decode()
    clinician_client.post(_url(course), {"start_date": "2026-03-02", "reason": "Typo"})
    outlook = CourseOutlook.objects.get(course=course)
    assert (outlook.problem, outlook.next_due) == (False, MONDAY)


def test_a_nurse_cannot_correct_the_start(unit, nurse_client, clock):
    clock(MONDAY, 10)
    course = make_course(make_patient(), start=date(2027, 3, 2))
    assert nurse_client.get(_url(course)).status_code == 403
    assert (
        nurse_client.post(_url(course), {"start_date": "2026-03-02", "reason": "x"}).status_code
        == 403
    )
    course.refresh_from_db()
    assert course.start_date == date(2027, 3, 2)
