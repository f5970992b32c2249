"""The rough edges a nurse met on the walk of issue 20 (item 3): where sign-in lands, the
navigation, and HEAD answered like GET."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import MONDAY, PASSWORD, book, frozen, make_course, make_patient, open_slot


def test_sign_in_lands_on_today_the_day_board(client, nurse, unit):
    response = client.post(
        reverse("login"), {"username": "nurse", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[0][0] == reverse("schedules:today")
    assert "Day list" in response.content.decode()


def test_after_the_second_factor_the_clinician_lands_on_today(client, settings, clinician, unit):
    settings.TWO_FACTOR_REQUIRED = True
    signed_in = client.post(reverse("login"), {"username": "clinician", "password": PASSWORD})
    assert signed_in["Location"] == reverse("schedules:today")
    # No `next`: the second-factor pages send the person on to Today as well.
    verify = client.get(reverse("two_factor:verify"))
    assert "next=" + reverse("schedules:today").replace("/", "%2F") in verify["Location"]


def _nav(page: str) -> str:
    return page.split('id="nav"', 1)[1].split("</nav>", 1)[0]


def test_the_navigation_holds_follow_up_calls_and_capacity(nurse_client, unit):
    nav = _nav(nurse_client.get(reverse("schedules:today")).content.decode())

    assert f'href="{reverse("schedules:follow_up")}">Follow-up calls</a>' in nav
    assert f'href="{reverse("schedules:capacity")}">Capacity</a>' in nav


def test_the_navigation_marks_the_page_you_are_on(nurse_client, unit):
    nav = _nav(nurse_client.get(reverse("schedules:follow_up")).content.decode())

    assert f'nav-link active" href="{reverse("schedules:follow_up")}"' in nav


def test_someone_without_the_permission_is_not_offered_follow_up_calls(client, db, unit):
    from django.contrib.auth.models import User

    reader = User.objects.create_user("reader", password=PASSWORD)
    client.force_login(reader)
    page = client.get(reverse("patients:list")).content.decode()

    assert "Follow-up calls" not in page
    assert "Capacity" not in page


@pytest.fixture
def booked_day(unit, nurse):
    with frozen(MONDAY - timedelta(days=3)):
        course = make_course(make_patient(), start=MONDAY)
        booking = book(course, 1, open_slot(unit, MONDAY), nurse)
    return booking


def _pages(booking) -> list[str]:
    return [
        reverse("schedules:today"),
        reverse("schedules:day", args=[MONDAY]),
        reverse("schedules:calendar"),
        reverse("schedules:week"),
        reverse("schedules:capacity"),
        reverse("schedules:follow_up"),
        reverse("schedules:needs_booking"),
        reverse("schedules:overdue"),
        reverse("schedules:book_day", args=[MONDAY]),
        reverse("schedules:booking", args=[booking.pk]),
        reverse("schedules:reschedule", args=[booking.pk]),
        reverse("schedules:visit_checks", args=[booking.pk]),
        reverse("patients:list"),
        reverse("patients:detail", args=[booking.dose.course.patient_id]),
        reverse("quality:page"),
        "/healthz",
    ]


def test_head_answers_like_get_without_a_body(nurse_client, booked_day):
    with frozen(MONDAY, 8):
        for url in _pages(booked_day):
            get, head = nurse_client.get(url), nurse_client.head(url)
            assert head.status_code == get.status_code == 200, url
            assert head.content == b"", url
            assert head["Content-Type"] == get["Content-Type"], url
