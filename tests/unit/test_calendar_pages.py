"""The unit's month and week calendars."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from schedules import services
from schedules.models import Closure, Slot
from schedules.unit import grid as calendar_grid
from tests.factories import frozen, make_course, make_patient

MONDAY = date(2026, 3, 2)


@pytest.fixture
def frozen_monday():
    with frozen(MONDAY, 8):
        yield


@pytest.fixture
def booked(unit, nurse, frozen_monday):
    services.generate_slots(unit=unit, weeks=6)
    course = make_course(make_patient("C1", given_name="Grace", family_name="Hopper"), MONDAY)
    slot = Slot.objects.on_day(unit, MONDAY).first()
    return services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)


def test_month_shows_booked_of_places_and_links_to_day_lists(booked, nurse_client):
    page = nurse_client.get(reverse("schedules:calendar")).content.decode()
    assert "March 2026" in page
    assert "1 / 6 booked" in page  # Monday: three slots of two places, one booked
    assert "0 / 6 booked" in page
    assert reverse("schedules:day", args=[MONDAY]) in page
    assert 'aria-current="date"' in page  # today highlighted
    assert "?month=2026-02" in page and "?month=2026-04" in page


def test_month_labels_closures_and_bank_holidays(unit, nurse_client, frozen_monday):
    Closure.objects.create(
        unit=unit, start_date=date(2026, 4, 8), end_date=date(2026, 4, 8), reason="Training day"
    )
    page = nurse_client.get(reverse("schedules:calendar") + "?month=2026-04").content.decode()
    assert "April 2026" in page
    assert "Bank holiday: Good Friday" in page
    assert "Bank holiday: Easter Monday" in page
    assert "Closed: Training day" in page


@pytest.mark.parametrize("bad", ["2026-13", "nonsense", "2026-1", "1999-12", "<script>"])
def test_month_bad_value_falls_back_with_a_message(nurse_client, frozen_monday, bad):
    response = nurse_client.get(reverse("schedules:calendar"), {"month": bad})
    assert response.status_code == 200
    page = response.content.decode()
    assert "showing this month" in page
    assert "March 2026" in page
    assert "<script>" not in page


def test_month_at_the_edge_of_the_range_has_no_link_beyond(nurse_client, frozen_monday):
    page = nurse_client.get(reverse("schedules:calendar") + "?month=2100-12").content.decode()
    assert "December 2100" in page
    assert "?month=2101-01" not in page


def test_week_shows_each_slot_with_its_patients(booked, nurse_client):
    page = nurse_client.get(reverse("schedules:week")).content.decode()
    assert "Week of Mon 2 Mar 2026" in page
    assert "Grace Hopper" in page and "dose 1" in page
    assert "09:00" in page and "1/2 booked" in page
    assert "?week=2026-02-23" in page and "?week=2026-03-09" in page


def test_week_queries_do_not_grow_with_its_patients(
    booked, unit, nurse, nurse_client, django_assert_num_queries
):
    """A constant number of queries (issue 8: a full week at 5,000 patients sat at the
    150 ms line): adding patients and their history adds rows, not queries."""
    url = reverse("schedules:week")
    nurse_client.get(url)
    with django_assert_num_queries(9):
        nurse_client.get(url)
    slots = list(Slot.objects.on_day(unit, MONDAY).order_by("-start"))
    for index, slot in enumerate([slots[0], slots[0], slots[1]]):
        course = make_course(make_patient(f"C2{index}", family_name=f"Patient{index}"), MONDAY)
        services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    with django_assert_num_queries(9):
        page = nurse_client.get(url).content.decode()
    assert "Patient0" in page and "Patient2" in page


def test_week_from_any_day_starts_on_monday(booked, nurse_client):
    page = nurse_client.get(reverse("schedules:week"), {"week": "2026-03-04"}).content.decode()
    assert "Week of Mon 2 Mar 2026" in page


@pytest.mark.parametrize("bad", ["2026-02-30", "next week", "2026-3-2"])
def test_week_bad_value_falls_back_with_a_message(nurse_client, frozen_monday, bad):
    response = nurse_client.get(reverse("schedules:week"), {"week": bad})
    assert response.status_code == 200
    assert "showing this week" in response.content.decode()


def test_generate_slots_button(unit, nurse_client, frozen_monday):
    response = nurse_client.post(reverse("schedules:generate_slots"), follow=True)
    assert "Slots brought up to date" in response.content.decode()
    assert Slot.objects.exists()
    assert nurse_client.get(reverse("schedules:generate_slots")).status_code == 405


def test_calendar_pages_need_login(client):
    for name in ("schedules:calendar", "schedules:week", "schedules:today"):
        assert client.get(reverse(name)).status_code == 302


def test_grid_helpers():
    weeks = calendar_grid.month_weeks(date(2026, 2, 1))
    assert weeks[0][0] == date(2026, 1, 26) and weeks[-1][-1] == date(2026, 3, 1)
    assert calendar_grid.parse_month("2028-02") == date(2028, 2, 1)
    assert calendar_grid.parse_month("2028-00") is None
    assert calendar_grid.parse_day("2028-02-29") == date(2028, 2, 29)
    assert calendar_grid.parse_day("2027-02-29") is None
    assert calendar_grid.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert calendar_grid.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert calendar_grid.week_of(date(2026, 3, 29))[0] == date(2026, 3, 23)
    assert calendar_grid.week_of(date(2026, 3, 29))[-1] - timedelta(days=6) == date(2026, 3, 23)


def test_generate_slots_needs_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("porter", password="x"))
    assert client.post(reverse("schedules:generate_slots")).status_code == 403
    assert not Slot.objects.exists()


@pytest.mark.parametrize(
    ("booked", "places", "level"),
    [(0, 6, 0), (1, 6, 1), (3, 6, 2), (5, 6, 3), (6, 6, 4), (7, 6, 4)],
)
def test_heat_map_levels(booked, places, level):
    assert calendar_grid.load_level(booked, places) == level


def test_a_closed_day_with_bookings_looks_closed_not_full(unit, nurse, nurse_client, frozen_monday):
    services.generate_slots(unit=unit, weeks=2)
    wednesday = MONDAY + timedelta(days=2)
    for n, slot in enumerate(Slot.objects.on_day(unit, wednesday)):
        for place in range(slot.places):
            course = make_course(make_patient(f"F{n}{place}"), wednesday)
            services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    Closure.objects.create(unit=unit, start_date=wednesday, end_date=wednesday, reason="Burst pipe")
    page = nurse_client.get(reverse("schedules:calendar")).content.decode()
    cell = page.split('aria-label="Day list for Wed 4 Mar 2026"')[0].rsplit("<td", 1)[1]
    assert "cal-closed" in cell and "heat-" not in cell
    rest = page.split('aria-label="Day list for Wed 4 Mar 2026"')[1].split("</td>")[0]
    assert "Burst pipe" in rest and "Full" not in rest


def test_book_into_a_day_lists_doses_whose_window_holds_it(unit, nurse_client, frozen_monday):
    services.generate_slots(unit=unit, weeks=3)
    make_course(make_patient("D1", family_name="Inwindow"), MONDAY + timedelta(days=9))
    make_course(make_patient("D2", family_name="Later"), MONDAY + timedelta(days=16))
    page = nurse_client.get(
        reverse("schedules:book_day", args=[MONDAY + timedelta(days=10)])
    ).content.decode()
    assert "Book into Thu 12 Mar 2026" in page
    assert "Inwindow" in page and "Later" not in page
    assert "Book Thu 12 Mar 2026, 09:00" in page


def test_book_into_a_past_day_is_a_message(unit, nurse_client, frozen_monday):
    response = nurse_client.get(reverse("schedules:book_day", args=[MONDAY - timedelta(days=1)]))
    assert response.status_code == 302
    assert response["Location"] == reverse("schedules:calendar") + "?month=2026-03"


def test_month_shows_doses_due_but_not_yet_booked_from_the_forecast(
    unit, nurse_client, frozen_monday
):
    """The heat map counts demand as well as bookings (issue 10 item 2, planning forecast)."""
    services.generate_slots(unit=unit, weeks=6)
    for number in range(3):
        make_course(make_patient(f"F{number}"), MONDAY + timedelta(days=9))  # Wed 11 Mar
    page = nurse_client.get(reverse("schedules:calendar"), {"month": "2026-03"}).content.decode()
    cell = page[page.index(reverse("schedules:day", args=[MONDAY + timedelta(days=9)])) :]
    assert "3 due, not booked" in cell[: cell.index("</td>")]
