"""A clinician's queue, "My tasks" (issue 20 §2): holds to review, checks stopped for a decision,
booking requests, visits with no outcome, headache calls without a triage, each with its one
action; the navigation's count; queries constant in the number of patients."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from schedules import services
from schedules.visits import tasks
from tests.factories import (
    MONDAY,
    frozen,
    give_dose,
    make_course,
    make_patient,
    make_slot,
    open_slot,
)

TASKS_URL = reverse("schedules:tasks")
LAST_WEEK = MONDAY - timedelta(days=7)


def one_of_each(unit, nurse, clinician, n: int = 0) -> dict:
    """One patient waiting in each list (suffix `n` for more of the same); the clock is left
    at 10:00 on MONDAY."""
    made = {}
    with frozen(LAST_WEEK, 7):
        slot = open_slot(unit, LAST_WEEK, 9 + 2 * (n // 3))
        given = make_course(make_patient(f"H5{n:05d}", family_name=f"Headache{n}"), start=LAST_WEEK)
        booking = services.book_dose_number(course=given, number=1, slot=slot, booked_by=nurse)
        unrecorded = make_course(
            make_patient(f"H4{n:05d}", family_name=f"Unrecorded{n}"), start=LAST_WEEK
        )
        made["unrecorded"] = services.book_dose_number(
            course=unrecorded, number=1, slot=slot, booked_by=nurse
        )
    with frozen(LAST_WEEK, 9, 30):
        give_dose(booking.dose, given_at=timezone.now(), by=clinician)
    with frozen(LAST_WEEK + timedelta(days=1), 10):
        made["headache"] = services.record_follow_up_call(
            dose=booking.dose, outcome="headache", recorded_by=nurse
        )
    with frozen(MONDAY, 7):
        held = make_course(make_patient(f"H1{n:05d}", family_name=f"Held{n}"))
        services.record_adverse_event(
            course=held, term="myelitis", onset=MONDAY, serious=True, recorded_by=clinician
        )
        made["held"] = held
        checks = make_course(make_patient(f"H2{n:05d}", family_name=f"Checks{n}"))
        made["checks"] = services.book_dose_number(
            course=checks, number=1, slot=open_slot(unit, MONDAY, 9), booked_by=nurse
        )
        asked = make_course(make_patient(f"H3{n:05d}", family_name=f"Asked{n}"))
        made["request"] = services.ask_clinician(
            course=asked, number=1, slot=None, note="Back from holiday", asked_by=nurse
        )
    with frozen(MONDAY, 9, 5):
        services.mark_arrived(booking=made["checks"], marked_by=nurse)
        services.record_checks(
            booking=made["checks"],
            recorded_by=nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
            symptom_headache=True,
        )
    return made


def tasks_page(client, user) -> str:
    client.force_login(user)
    response = client.get(TASKS_URL)
    assert response.status_code == 200
    return response.content.decode()


def group(page: str, key: str) -> str:
    match = re.search(rf'<section [^>]*data-group="{key}">.*?</section>', page, re.S)
    assert match, f"no {key} group"
    return match[0]


def test_each_list_names_the_patient_with_the_page_that_resolves_it(unit, nurse, clinician, client):
    made = one_of_each(unit, nurse, clinician)
    with frozen(MONDAY, 10):
        page = tasks_page(client, clinician)
    holds = group(page, "holds")
    assert "Held0" in holds
    assert reverse("schedules:review", args=[made["held"].pk]) in holds
    checks = group(page, "checks")
    assert "Checks0" in checks and "severe headache" in checks
    assert reverse("schedules:visit_clear", args=[made["checks"].pk]) + "?next=" in checks
    requests = group(page, "requests")
    assert "Asked0" in requests and "Back from holiday" in requests
    assert reverse("schedules:book", args=[made["request"].course_id, 1]) in requests
    unrecorded = group(page, "unrecorded")
    assert "Unrecorded0" in unrecorded
    day = reverse("schedules:day", args=[LAST_WEEK])
    assert f'href="{day}#booking-{made["unrecorded"].pk}"' in unrecorded
    headaches = group(page, "headaches")
    assert "Headache0" in headaches
    assert "term=plph" in headaches and f"call={made['headache'].pk}" in headaches
    # Each row has exactly one action.
    for key in ("holds", "checks", "requests", "unrecorded", "headaches"):
        assert group(page, key).count('class="btn btn-sm btn-primary"') == 1, key


def test_resolved_tasks_leave_the_lists(unit, nurse, clinician, client):
    made = one_of_each(unit, nurse, clinician)
    with frozen(MONDAY, 10):
        services.clear_checks(booking=made["checks"], cleared_by=clinician, note="Known migraine")
        services.record_review_decision(
            course=made["held"], decision="stop", on=MONDAY, note="Myelitis", recorded_by=clinician
        )
        services.book_dose_number(
            course=made["request"].course,
            number=1,
            slot=make_slot(unit, MONDAY + timedelta(days=1), 9),
            booked_by=clinician,
        )
        services.mark_no_show(booking=made["unrecorded"], marked_by=nurse)
        page = tasks_page(client, clinician)
        assert tasks.task_count(unit, today=MONDAY) == 1  # the headache is still waiting
    for key in ("holds", "checks", "requests", "unrecorded"):
        assert "btn-primary" not in group(page, key), key
    assert "Headache0" in group(page, "headaches")


def test_the_navigation_counts_them_for_a_clinician(unit, nurse, clinician, client):
    one_of_each(unit, nurse, clinician)
    with frozen(MONDAY, 10):
        client.force_login(clinician)
        page = client.get(reverse("patients:list")).content.decode()
        assert tasks.task_count(unit, today=MONDAY) == 5
    badge = re.search(r'<span id="tasks-badge"[^>]*>(\d+)<', page)
    assert badge and badge[1] == "5"
    assert f'href="{TASKS_URL}">My tasks' in page


def test_a_nurse_has_no_queue(unit, nurse, client):
    client.force_login(nurse)
    assert client.get(TASKS_URL).status_code == 403
    assert "My tasks" not in client.get(reverse("patients:list")).content.decode()


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get(TASKS_URL).status_code == 302


@pytest.mark.parametrize("patients", [1, 4])
def test_queries_do_not_grow_with_the_patients(
    patients, unit, nurse, clinician, client, django_assert_max_num_queries
):
    for n in range(patients):
        one_of_each(unit, nurse, clinician, n)
    with frozen(MONDAY, 10):
        client.force_login(clinician)
        with django_assert_max_num_queries(14):
            page = client.get(TASKS_URL).content.decode()
        with django_assert_max_num_queries(1):
            assert tasks.task_count(unit, today=MONDAY) == 5 * patients
    assert page.count('class="btn btn-sm btn-primary"') == 5 * patients


@pytest.mark.no_unit
def test_before_the_unit_is_set_up_a_clinicians_pages_say_so(db, clinician, client):
    """The badge reads the unit: with none yet, the page explains (503), never a 500."""
    client.force_login(clinician)
    response = client.get(reverse("schedules:today"))
    assert response.status_code == 503
    assert "No day-care unit is set up yet" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 503
