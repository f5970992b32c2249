"""The follow-up calls page after the walk (issue 20): no outcome chosen for the nurse, the
headache triage on the call itself (DESIGN §2 PLPH pathway), and the call-back planned for an
unanswered call shown on the list."""

import re
from datetime import timedelta

from django.urls import reverse

from schedules import services
from schedules.models import AdverseEvent, FollowUpCall, TreatmentCourse
from schedules.visits.selectors import follow_up_doses
from tests.factories import GIVEN_ELSEWHERE, MONDAY, VIAL, at, frozen, make_course

TUESDAY = MONDAY + timedelta(days=1)


def _given(patient, clinician):
    with frozen(MONDAY, 12):
        course = make_course(patient, start=MONDAY)
        return services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(MONDAY, 10),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )


def _post(client, dose, **data):
    with frozen(TUESDAY, 10):
        return client.post(
            reverse("schedules:follow_up_call", args=[dose.pk]), data, follow=True
        ).content.decode()


def test_no_outcome_is_chosen_for_the_nurse(patient, clinician, nurse_client, unit):
    dose = _given(patient, clinician)
    with frozen(TUESDAY, 9):
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()

    select = re.search(r'<select name="outcome"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None and "required" in select[0].split(">")[0]
    assert re.match(r'<option value="" selected>Choose the outcome…</option>', select[1])
    assert not re.search(r'value="no_problems"[^>]*selected', select[1])

    page = _post(nurse_client, dose, note="rang")
    assert "Nothing was saved: Choose the outcome of the call." in page
    assert not FollowUpCall.objects.exists()


def test_the_headache_triage_is_on_the_call_and_saves_with_it(
    patient, clinician, nurse_client, unit
):
    dose = _given(patient, clinician)
    with frozen(TUESDAY, 9):
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()
    triage = re.search(
        r'<fieldset[^>]*data-shown-when="headache".*?</fieldset>\s*</form>', page, re.S
    )
    assert triage is not None and "If a headache: the triage" in triage[0]
    for question in ("photophobia", "vomiting", "neck stiffness", "worse sitting or standing"):
        assert question in triage[0].lower(), question

    page = _post(
        nurse_client,
        dose,
        outcome="headache",
        term="plph",
        severity="moderate",
        hours_since_onset="20",
        onset_within_48h="on",
        postural="on",
    )

    assert "Call recorded with the headache triage" in page
    call = FollowUpCall.objects.get()
    assert call.outcome == "headache" and call.adverse_event.term == "plph"
    assert call.adverse_event.triage["hours_since_onset"] == 20
    assert call.adverse_event.onset == MONDAY  # 20 hours before Tuesday 10:00
    with frozen(TUESDAY, 11):
        assert dose.pk not in [row.dose.pk for row in follow_up_doses(TUESDAY)]


def test_a_red_flag_on_the_call_holds_the_course(patient, clinician, nurse_client, unit):
    dose = _given(patient, clinician)

    page = _post(
        nurse_client,
        dose,
        outcome="headache",
        term="plph",
        severity="severe",
        hours_since_onset="6",
        neck_stiffness="on",
    )

    assert "Red flag" in page
    assert TreatmentCourse.objects.get().status == TreatmentCourse.Status.HELD


def test_a_half_answered_triage_saves_nothing_and_says_what_is_missing(
    patient, clinician, nurse_client, unit
):
    dose = _given(patient, clinician)

    page = _post(nurse_client, dose, outcome="headache", severity="mild")

    assert "Nothing was saved" in page
    assert "Choose the kind of headache." in page
    assert "Ask how many hours ago it started." in page
    assert not FollowUpCall.objects.exists() and not AdverseEvent.objects.exists()


def test_the_triage_answers_are_ignored_for_another_outcome(patient, clinician, nurse_client, unit):
    """Without JavaScript the triage is always on screen: ticks left there by mistake do not
    make "No problems" a headache."""
    dose = _given(patient, clinician)

    _post(nurse_client, dose, outcome="no_problems", severity="severe", neck_stiffness="on")

    assert FollowUpCall.objects.get().outcome == "no_problems"
    assert not AdverseEvent.objects.exists()


def test_an_unanswered_call_shows_when_to_call_back(patient, clinician, nurse_client, unit):
    dose = _given(patient, clinician)
    page = _post(nurse_client, dose, outcome="no_answer")

    assert "Call back planned for Wed 4 Mar 2026." in page
    row = re.search(rf'<tr data-dose="{dose.pk}">.*?</tr>', page, re.S)
    assert row is not None and "No answer: call back Wed 4 Mar 2026" in row[0]
