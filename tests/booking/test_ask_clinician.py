""" "Ask a clinician" (issue 20): only for the real next dose of an active course, and an
accepted request is listed where the message says it is (Overdue & rebook, "Asked of a
clinician"), whichever page of the worklist its course falls on."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from schedules import services
from schedules.booking.selectors import WORKLIST_PAGE_SIZE
from schedules.models import ClinicianRequest, Slot
from tests.factories import MONDAY, frozen, make_course, make_patient


@pytest.fixture
def frozen_monday():
    with frozen(MONDAY, 8):
        yield


@pytest.fixture
def overdue_course(unit, frozen_monday):
    services.generate_slots(unit=unit, weeks=2)
    return make_course(make_patient("A1", family_name="Handoff"), MONDAY - timedelta(days=20))


def _ask(client, course, number, **data):
    return client.post(
        reverse("schedules:ask_clinician", args=[course.pk, number]),
        {"next": reverse("schedules:overdue"), **data},
        follow=True,
    )


def test_dose_1000_of_a_stopped_course_is_refused_with_a_clear_message(
    nurse_client, clinician, overdue_course
):
    services.stop_course(
        course=overdue_course, on=MONDAY, reason="side_effects", recorded_by=clinician
    )

    page = _ask(nurse_client, overdue_course, 1000).content.decode()

    assert "Nothing was sent to a clinician: this course is stopped" in page
    assert "Asked a clinician" not in page
    assert not ClinicianRequest.objects.exists()


def test_the_next_dose_of_a_stopped_course_is_refused(nurse_client, clinician, overdue_course):
    services.stop_course(
        course=overdue_course, on=MONDAY, reason="side_effects", recorded_by=clinician
    )

    page = _ask(nurse_client, overdue_course, 1).content.decode()

    assert "this course is stopped, so no dose can be booked for it" in page
    assert not ClinicianRequest.objects.exists()


def test_a_dose_that_is_not_the_next_to_book_is_refused(nurse_client, overdue_course):
    page = _ask(nurse_client, overdue_course, 7).content.decode()

    assert "dose 7 is not the next dose to book for Ada Handoff (dose 1 is)" in page
    assert not ClinicianRequest.objects.exists()


def test_an_accepted_request_is_listed_where_the_message_says(
    unit, nurse_client, overdue_course, nurse
):
    """The course is on the worklist's second page; the message says "Overdue & rebook, under
    'Asked of a clinician'": following it, the request is there."""
    for index in range(WORKLIST_PAGE_SIZE + 2):
        make_course(
            make_patient(f"E{index:03d}", family_name=f"Earlier{index:03d}"),
            MONDAY - timedelta(days=40),
        )
    slot = Slot.objects.on_day(unit, MONDAY).first()

    response = _ask(nurse_client, overdue_course, 1, slot=slot.pk, note="Back from holiday")
    message = re.search(r"Asked a clinician[^<]*", response.content.decode())[0]
    assert "listed for them on Overdue &amp; rebook, under “Asked of a clinician”" in message

    page = nurse_client.get(reverse("schedules:overdue")).content.decode()  # page 1
    asked = page.split('id="asked-heading"')[1].split("</section>")[0]
    assert "Handoff" in asked and "dose 1" in asked and "Back from holiday" in asked
    assert "Handoff" not in page.split("Overdue doses")[1]  # its row is on page 2
