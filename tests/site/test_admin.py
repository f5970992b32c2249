"""The Django admin as an admin uses it, the roles' permissions, and the list pages' query
counts."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from schedules import engine, services
from schedules.models import Dose
from tests.factories import MONDAY, make_patient

LONDON = ZoneInfo("Europe/London")
ADMIN_LISTS = [
    "admin:patients_patient_changelist",
    "admin:patients_consent_changelist",
    "admin:patients_feedtoken_changelist",
    "admin:schedules_unit_changelist",
    "admin:schedules_sessiontemplate_changelist",
    "admin:schedules_closure_changelist",
    "admin:schedules_slot_changelist",
    "admin:schedules_treatmentcourse_changelist",
    "admin:schedules_courseevent_changelist",
    "admin:schedules_dose_changelist",
    "admin:schedules_booking_changelist",
]


@pytest.mark.parametrize("url_name", ADMIN_LISTS)
def test_every_model_has_a_working_admin_list_with_search(client, admin_user, url_name):
    make_patient()
    client.force_login(admin_user)

    response = client.get(reverse(url_name), {"q": "H100001"})

    assert response.status_code == 200


def test_patient_admin_shows_consents_and_courses_inline(client, admin_user, clinician):
    patient = make_patient()
    services.start_course(patient=patient, start_date=date(2026, 1, 5), started_by=clinician)
    client.force_login(admin_user)

    page = client.get(reverse("admin:patients_patient_change", args=[patient.pk])).content.decode()

    assert "Hospital consent form" in page
    assert "Treatment courses" in page


def test_admin_sees_the_history_of_a_record(client, admin_user):
    patient = make_patient()
    patient.phone = "07700 900123"
    patient.save()
    client.force_login(admin_user)

    response = client.get(reverse("admin:patients_patient_history", args=[patient.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Changed" in page or "Created" in page
    assert patient.history.count() == 2


@pytest.mark.parametrize(
    ("group", "allowed", "refused"),
    [
        ("Nurse", ["add_patient", "add_booking", "view_treatmentcourse"], ["manage_course"]),
        (
            "Clinician",
            ["add_consent", "manage_course", "override_booking_window", "record_administration"],
            [],
        ),
    ],
)
def test_roles_are_groups_with_the_right_permissions(group, allowed, refused, db):
    codenames = set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))

    assert set(allowed) <= codenames
    assert not set(refused) & codenames


def test_nurse_cannot_open_the_admin(nurse_client):
    response = nurse_client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert "login" in response["Location"]


def _patients_with_courses(count, clinician):
    for index in range(count):
        patient = make_patient(f"H{index:06d}", family_name=f"Family{index}")
        course = services.start_course(
            patient=patient, start_date=date(2026, 1, 5), started_by=clinician
        )
        if index % 3 == 0:
            services.pause_course(
                course=course, on=date(2026, 1, 5), reason="side_effects", recorded_by=clinician
            )


@pytest.mark.parametrize("count", [10, 45])
def test_patient_list_makes_a_constant_number_of_queries(
    nurse_client, clinician, django_assert_num_queries, count, unit, clock
):
    # The day the courses start: no dose is overdue yet, so no open-day lookup is needed (an
    # unfrozen clock made this test fail once the start date had passed).
    clock(date(2026, 1, 5), 10)
    _patients_with_courses(count, clinician)

    # session, user, permissions, count, unit, patients, courses, then the courses' facts as
    # values (planning.plans_from_values): given doses, booked doses, decisions (the unit's
    # open days are read only when a dose is overdue: two more, also constant)
    with django_assert_num_queries(11):
        response = nurse_client.get(reverse("patients:list"))

    assert response.status_code == 200
    assert response.content.decode().count("FAMILY") == count


@pytest.mark.parametrize("given", [3, 12])
def test_patient_page_makes_a_constant_number_of_queries(
    nurse_client, clinician, django_assert_num_queries, given, unit, clock
):
    clock(MONDAY, 10)  # a Monday
    patient = make_patient()
    start = date(2025, 3, 3)
    course = services.start_course(patient=patient, start_date=start, started_by=clinician)
    on_time = engine.plan(start=start, today=start, count=given)
    for planned in on_time:
        Dose.objects.create(
            course=course,
            number=planned.number,
            given_at=datetime.combine(planned.date, time(10), tzinfo=LONDON),
        )

    # session, user, 2 × permissions, patient, consents, courses, events, doses, bookings,
    # unit, session templates, closures, feed token, adverse events
    with django_assert_num_queries(15):
        response = nurse_client.get(reverse("patients:detail", args=[patient.pk]))

    assert response.content.decode().count(">Given</span>") == given


def test_closures_are_added_where_their_bookings_are_checked_not_inline_on_the_unit(
    client, admin_user, unit
):
    """The unit page lists closures with a link; adding one there would skip the Closure
    form's list of the bookings on the days being closed (issue 10)."""
    unit.closures.create(start_date=date(2026, 12, 25), end_date=date(2026, 12, 26), reason="Xmas")
    client.force_login(admin_user)

    page = client.get(reverse("admin:schedules_unit_change", args=[unit.pk])).content.decode()

    assert "Xmas" in page
    assert 'name="closures-0-start_date"' not in page  # listed, not editable
    assert 'closures-MAX_NUM_FORMS" value="0"' in page  # no form for a new one
