"""Follow-up calls after a dose and the headache triage (DESIGN §2 "After" and PLPH pathway;
issue 17): called on the unit's open days, listed until the call reaches the patient or a
clinician closes it, a headache triaged before the call is done."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from schedules import plph, services
from schedules.models import AdverseEvent, FollowUpCall, TreatmentCourse
from schedules.visits.selectors import follow_up_doses
from tests.factories import GIVEN_ELSEWHERE, MONDAY, VIAL, at, frozen, make_course

THURSDAY_BEFORE_EASTER = date(2026, 4, 2)  # Good Friday 3 April, Easter Monday 6 April


def given(patient, clinician, day: date):
    with frozen(day, 12):
        course = make_course(patient, start=day)
        return services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(day, 10),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )


def listed(day: date) -> list[int]:
    with frozen(day, 9):
        return [row.dose.pk for row in follow_up_doses(day)]


def call(dose, outcome, by, day, **extra):
    with frozen(day, 10):
        return services.record_follow_up_call(dose=dose, outcome=outcome, recorded_by=by, **extra)


def test_bank_holidays_count_as_closed(patient, clinician, unit):
    """Given the Thursday before Easter: Good Friday, the weekend and Easter Monday are closed,
    so the first call is on Tuesday."""
    dose = given(patient, clinician, THURSDAY_BEFORE_EASTER)
    for day in (date(2026, 4, 3), date(2026, 4, 4), date(2026, 4, 6)):
        assert dose.pk not in listed(day), day
    rows = {row.dose.pk: row for row in follow_up_doses(date(2026, 4, 7))}
    assert rows[dose.pk].first_call_day == date(2026, 4, 7)


def test_a_dose_is_not_listed_on_its_own_day(patient, clinician, unit):
    dose = given(patient, clinician, MONDAY)
    assert dose.pk not in listed(MONDAY)
    assert dose.pk in listed(MONDAY + timedelta(days=1))


def test_no_answer_on_a_friday_plans_the_call_back_for_monday(patient, nurse, clinician, unit):
    thursday = MONDAY + timedelta(days=3)
    dose = given(patient, clinician, thursday)
    attempt = call(dose, "no_answer", nurse, thursday + timedelta(days=1))
    assert attempt.call_back_on == MONDAY + timedelta(days=7)
    assert dose.pk in listed(MONDAY + timedelta(days=7))


def test_unanswered_calls_stay_listed_until_a_clinician_closes_with_a_note(
    patient, nurse, clinician, unit
):
    dose = given(patient, clinician, MONDAY)
    for offset in (1, 2, 3):
        call(dose, "no_answer", nurse, MONDAY + timedelta(days=offset))
    later = MONDAY + timedelta(days=10)
    assert dose.pk in listed(later)
    with pytest.raises(services.FollowUpError, match="Only a clinician"):
        call(dose, "closed", nurse, later, note="Cannot reach")
    with pytest.raises(services.FollowUpError, match="why"):
        call(dose, "closed", clinician, later)
    assert dose.pk in listed(later)
    call(dose, "closed", clinician, later, note="Seen in clinic today: well")
    assert dose.pk not in listed(later)


def test_an_answered_call_ends_the_follow_up(patient, nurse, clinician, unit):
    dose = given(patient, clinician, MONDAY)
    call(dose, "no_problems", nurse, MONDAY + timedelta(days=1))
    assert dose.pk not in listed(MONDAY + timedelta(days=2))


def test_an_other_event_call_stays_listed_until_the_event_is_recorded(
    patient, nurse, clinician, unit
):
    dose = given(patient, clinician, MONDAY)
    tuesday = MONDAY + timedelta(days=1)
    found = call(dose, "other_event", nurse, tuesday)
    assert dose.pk in listed(tuesday + timedelta(days=1))
    with frozen(tuesday, 11):
        event = services.record_follow_up_event(
            call=found, recorded_by=nurse, term="back_pain", onset=tuesday, serious=False
        )
    found.refresh_from_db()
    assert found.adverse_event == event
    assert event.dose == dose
    assert dose.pk not in listed(tuesday + timedelta(days=1))


def test_a_headache_call_needs_the_triage(patient, nurse, clinician, unit):
    dose = given(patient, clinician, MONDAY)
    tuesday = MONDAY + timedelta(days=1)
    found = call(dose, "headache", nurse, tuesday)
    with frozen(tuesday, 11), pytest.raises(services.FollowUpError, match="headache triage"):
        services.record_follow_up_event(
            call=found, recorded_by=nurse, term="back_pain", onset=tuesday, serious=False
        )
    assert not AdverseEvent.objects.exists()
    assert dose.pk in listed(tuesday)


def test_a_red_flag_found_on_the_call_holds_the_course_and_stores_every_answer(
    patient, nurse, clinician, unit
):
    dose = given(patient, clinician, MONDAY)
    tuesday = MONDAY + timedelta(days=1)
    found = call(dose, "headache", nurse, tuesday)
    with frozen(tuesday, 11):
        event = services.record_follow_up_event(
            call=found,
            recorded_by=nurse,
            term="plph",
            onset=tuesday,
            serious=False,
            severity="mild",
            triage={"onset_within_48h": True, "postural": True, "photophobia": True},
        )
    event.refresh_from_db()
    assert event.plph_step == AdverseEvent.PlphStep.URGENT
    assert set(event.triage) == set(plph.PLPH_QUESTIONS)
    assert event.triage["photophobia"] is True and event.triage["vomiting"] is False
    assert TreatmentCourse.objects.get(pk=dose.course_id).status == TreatmentCourse.Status.HELD
    assert dose.pk not in listed(tuesday + timedelta(days=1))


def test_a_later_dose_ends_the_earlier_ones_follow_up(patient, nurse, clinician, unit):
    """The next visit's pre-dose checks asked about new symptoms since the last dose."""
    dose = given(patient, clinician, MONDAY)
    with frozen(MONDAY + timedelta(days=14), 12):
        later = services.record_administration(
            dose=services.dose_for(course=dose.course, number=2),
            given_at=at(MONDAY + timedelta(days=14), 10),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )
    rows = listed(MONDAY + timedelta(days=15))
    assert later.pk in rows and dose.pk not in rows


def test_the_triage_form_asks_how_severe_and_how_long(patient, nurse, clinician, nurse_client):
    course = make_course(patient)
    with frozen(MONDAY, 12):
        response = nurse_client.post(
            reverse("schedules:adverse_event", args=[course.pk]),
            {"term": "plph", "onset": MONDAY.isoformat(), "outcome": "ongoing"},
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ask how severe the headache is" in page
    assert "Ask how many hours ago it started" in page
    assert not AdverseEvent.objects.exists()


def test_the_follow_up_page_offers_closing_to_clinicians_only(patient, nurse, clinician, client):
    dose = given(patient, clinician, MONDAY)
    for user, offered in ((nurse, False), (clinician, True)):
        client.force_login(user)
        with frozen(MONDAY + timedelta(days=1), 9):
            page = client.get(reverse("schedules:follow_up")).content.decode()
        assert f'data-dose="{dose.pk}"' in page
        assert ("Close (clinician)" in page) is offered
    assert not FollowUpCall.objects.exists()


@pytest.mark.parametrize(
    ("answers", "step"),
    [
        (
            dict(
                onset_within_48h=True,
                postural=True,
                severity="severe",
                hours_since_onset=23,
                conservative_tried=True,
            ),
            plph.CONSERVATIVE,
        ),
        (
            dict(
                onset_within_48h=True,
                postural=True,
                severity="severe",
                hours_since_onset=24,
                conservative_tried=True,
            ),
            plph.BLOOD_PATCH,
        ),
        (dict(onset_within_48h=True, postural=False, severity="moderate"), plph.NOT_PLPH),
        (dict(onset_within_48h=False, postural=False, severity="severe"), plph.URGENT),
        (
            dict(
                onset_within_48h=True,
                postural=True,
                severity="severe",
                hours_since_onset=30,
                conservative_tried=True,
                confusion=True,
            ),
            plph.URGENT,
        ),
    ],
)
def test_the_pathway_steps_at_their_edges(answers, step):
    assert plph.plph_advice(answers).step == step


def test_an_unknown_triage_answer_is_refused():
    with pytest.raises(ValueError, match="Unknown triage question"):
        plph.triage_answers({"feverish": True})
    with pytest.raises(ValueError, match="mild, moderate or severe"):
        plph.triage_answers({"severity": "awful"})


def test_a_headache_call_on_the_page_opens_the_triage_for_that_call(
    patient, nurse, clinician, nurse_client
):
    dose = given(patient, clinician, MONDAY)
    with frozen(MONDAY + timedelta(days=1), 9):
        response = nurse_client.post(
            reverse("schedules:follow_up_call", args=[dose.pk]), {"outcome": "headache"}
        )
        page = nurse_client.get(response["Location"]).content.decode()
    found = FollowUpCall.objects.get()
    assert f'name="follow_up_call" value="{found.pk}"' in page
    for question in ("photophobia", "vomiting", "confusion", "neck stiffness", "numbness"):
        assert question in page.lower(), question
