"""The month's heat map on past days (issue 10): what happened, from the facts, greyed."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from schedules.models import Booking, Dose, Slot, TreatmentCourse
from tests.factories import make_patient

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 12)
PAST = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(date(2026, 3, 12), 8)


def cell(page: str, day: date) -> str:
    label = f"Day list for {day:%a} {day.day} {day:%b %Y}"
    start = page.rindex("<td", 0, page.index(label))
    return page[start : page.index("</td>", start)]


def test_a_past_day_shows_who_came_did_not_attend_and_is_not_recorded(unit, nurse, nurse_client):
    start = datetime(2026, 3, 10, 9, tzinfo=LONDON)
    slot = Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=6)
    statuses = ["fulfilled", "not_given", "noshow", "booked", "cancelled"]
    for number, status in enumerate(statuses):
        course = TreatmentCourse.objects.create(
            patient=make_patient(f"H70{number}"), start_date=PAST
        )
        dose = Dose.objects.create(course=course, number=1)
        Booking.objects.create(dose=dose, slot=slot, status=status, booked_by=nurse)

    page = nurse_client.get(reverse("schedules:calendar")).content.decode()

    past = cell(page, PAST)
    assert "cal-past" in past
    assert "2 / 6 came" in past
    assert "1 did not attend" in past and "1 not recorded" in past
    # 4 of 6 places used (the cancelled one freed its place): the third shade, greyed.
    assert re.search(r"heat-3\b", past)
    assert "Book" not in past and "Full" not in past


def test_the_month_costs_the_same_queries_with_past_days(
    unit, nurse, nurse_client, django_assert_num_queries
):
    url = reverse("schedules:calendar")
    nurse_client.get(url)
    with django_assert_num_queries(13):
        nurse_client.get(url)
