"""Today on a day the unit is closed (issue 20, the walk): the next open day's list, saying so,
not a blank page; a closed day that still holds bookings stays on screen to be moved."""

from datetime import timedelta

from django.urls import reverse

from schedules.models import Closure
from tests.factories import MONDAY, book, frozen, make_course, make_patient, open_slot

SUNDAY = MONDAY - timedelta(days=1)
FRIDAY = MONDAY - timedelta(days=3)


def _book_monday(unit, nurse):
    with frozen(FRIDAY):
        course = make_course(make_patient(), start=MONDAY)
        return book(course, 1, open_slot(unit, MONDAY), nurse)


def test_on_sunday_today_shows_mondays_list_and_says_so(nurse_client, nurse, unit):
    _book_monday(unit, nurse)
    with frozen(SUNDAY, 10):
        page = nurse_client.get(reverse("schedules:today")).content.decode()

    assert "The unit is closed today; showing Mon 2 Mar 2026." in page
    assert "Day list: Mon 2 Mar 2026" in page
    assert "Lovelace" in page


def test_on_an_open_day_today_is_today_without_the_notice(nurse_client, nurse, unit):
    _book_monday(unit, nurse)
    with frozen(MONDAY, 8):
        page = nurse_client.get(reverse("schedules:today")).content.decode()

    assert "closed today" not in page
    assert "Lovelace" in page


def test_a_closed_day_with_bookings_left_stays_on_screen(nurse_client, nurse, unit):
    booking = _book_monday(unit, nurse)
    Closure.objects.create(unit=unit, start_date=MONDAY, end_date=MONDAY, reason="Flood")
    with frozen(MONDAY, 8):
        page = nurse_client.get(reverse("schedules:today")).content.decode()

    assert "closed today; showing" not in page
    assert "The unit is closed on this day" in page
    assert booking.dose.course.patient.family_name in page


def test_a_bank_holiday_shows_the_next_open_day(nurse_client, unit):
    good_friday = MONDAY.replace(month=4, day=3)  # 3 April 2026, an England bank holiday
    with frozen(good_friday, 9):
        page = nurse_client.get(reverse("schedules:today")).content.decode()

    # Easter Monday (6 April) is a bank holiday too: the next open day is Tuesday.
    assert "The unit is closed today; showing Tue 7 Apr 2026." in page


def test_a_unit_with_no_open_day_in_sight_shows_todays_empty_board(nurse_client, installed_unit):
    with frozen(SUNDAY, 10):
        response = nurse_client.get(reverse("schedules:today"))

    assert response.status_code == 200
    assert "closed today" not in response.content.decode()
    assert "Day list: Sun 1 Mar 2026" in response.content.decode()
