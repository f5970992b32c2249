"""The pre-dose checks page (issue 20, the walk): each check an explicit yes/no question;
"not complete" says exactly what is missing or which answer stops the dose; re-opening the
form shows what was entered. The safety meaning of each answer is `record_checks`' (DESIGN §2
"Before"), unchanged."""

import re

import pytest
from django.urls import reverse

from schedules import services
from schedules.models import Visit
from tests.factories import MONDAY, frozen, make_course, make_patient, make_slot

ALL_NO = {
    "identity_confirmed": "yes",
    "symptom_headache": "no",
    "symptom_neck_stiffness": "no",
    "symptom_vision": "no",
    "symptom_numbness_weakness": "no",
    "fever": "no",
    "blood_sample_taken": "yes",
    "clotting_checked": "not_requested",
}


@pytest.fixture
def arrived(unit, nurse):
    with frozen(MONDAY, 8):
        course = make_course(make_patient())
        booking = services.book_dose_number(
            course=course, number=1, slot=make_slot(unit, MONDAY, 9), booked_by=nurse
        )
    with frozen(MONDAY, 9, 5):
        services.mark_arrived(booking=booking, marked_by=nurse)
        yield booking


def _url(booking):
    return reverse("schedules:visit_checks", args=[booking.pk])


def _post(client, booking, **answers):
    return client.post(_url(booking), {**ALL_NO, **answers})


def _visit(booking):
    return Visit.objects.filter(booking=booking).first()


def test_each_check_is_a_yes_no_question_in_its_own_fieldset(nurse_client, arrived):
    page = nurse_client.get(_url(arrived)).content.decode()

    for name in ALL_NO:
        fieldset = re.search(rf'<fieldset[^>]*>(?:(?!</fieldset>).)*name="{name}"', page, re.S)
        assert fieldset is not None, name
        assert "<legend" in fieldset[0], name
        assert len(re.findall(rf'<input type="radio"[^>]*name="{name}"', page)) >= 2, name
    legend = re.search(r"<legend[^>]*>\s*Since the last dose: neck stiffness\?", page)
    assert legend is not None
    assert "checked" not in page.split('name="symptom_headache"')[1].split(">")[0]


def test_unanswered_questions_are_named_and_nothing_is_saved(nurse_client, arrived):
    answers = dict(ALL_NO)
    del answers["symptom_vision"], answers["fever"]

    response = nurse_client.post(_url(arrived), answers)

    assert response.status_code == 400
    text = response.content.decode()
    assert "Not saved: 2 questions not answered" in text
    assert "“Since the last dose: a change in vision?”" in text
    assert "“A fever today?”" in text
    assert _visit(arrived) is None or _visit(arrived).checks_at is None
    # What was answered is still on the form.
    assert re.search(r'name="symptom_headache" value="no"[^>]*checked', text)


def test_a_yes_says_which_answer_stops_the_dose_for_a_clinician(nurse_client, arrived):
    response = _post(nurse_client, arrived, symptom_neck_stiffness="yes")

    assert response.status_code == 302
    page = nurse_client.get(response["Location"]).content.decode()
    assert "stopped until a clinician decides, because the answer was yes to: neck stiffness" in (
        page
    )
    visit = _visit(arrived)
    assert visit.needs_clinician and not visit.checks_complete


def test_identity_not_confirmed_is_refused_and_says_so(nurse_client, arrived):
    response = _post(nurse_client, arrived, identity_confirmed="no")

    assert response.status_code == 400
    assert "Confirm the patient&#x27;s identity" in response.content.decode()
    assert _visit(arrived) is None or _visit(arrived).checks_at is None


def test_clotting_asked_for_and_not_done_is_named(nurse_client, arrived):
    response = _post(nurse_client, arrived, clotting_checked="no")

    page = nurse_client.get(response["Location"]).content.decode()
    assert "not complete" in page and "clotting and platelets were asked for and not done" in page
    assert not _visit(arrived).checks_complete


def test_all_clear_checks_are_complete(nurse_client, arrived):
    response = _post(nurse_client, arrived)

    assert "Pre-dose checks complete" in nurse_client.get(response["Location"]).content.decode()
    assert _visit(arrived).checks_complete


def test_reopening_the_form_shows_what_was_entered(nurse_client, arrived):
    _post(nurse_client, arrived, symptom_neck_stiffness="yes", clotting_checked="yes")

    page = nurse_client.get(_url(arrived)).content.decode()

    assert re.search(r'name="symptom_neck_stiffness" value="yes"[^>]*checked', page)
    assert re.search(r'name="symptom_headache" value="no"[^>]*checked', page)
    assert re.search(r'name="clotting_checked" value="yes"[^>]*checked', page)
    assert re.search(r'name="identity_confirmed" value="yes"[^>]*checked', page)
