"""The calendar after the walk (issue 20): the month shows bookings left on a day that has
since closed; the week shows holds and visit states in the flow board's colours."""

import re
from datetime import timedelta

from django.urls import reverse

from schedules import services
from schedules.models import Closure, TreatmentCourse
from tests.factories import MONDAY, book, frozen, make_course, make_patient, open_slot

WEDNESDAY = MONDAY + timedelta(days=2)


def _cell(page, day) -> str:
    href = reverse("schedules:day", args=[day])
    return re.search(rf'<td[^>]*>\s*<div[^>]*>\s*<a[^>]*href="{href}".*?</td>', page, re.S)[0]


def test_a_day_closed_after_booking_shows_its_bookings_to_move(nurse_client, nurse, unit):
    with frozen(MONDAY, 8):
        for number in ("H1", "H2"):
            book(
                make_course(make_patient(number), start=WEDNESDAY),
                1,
                open_slot(unit, WEDNESDAY),
                nurse,
            )
        Closure.objects.create(unit=unit, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Flood")
        page = nurse_client.get(reverse("schedules:calendar")).content.decode()

    cell = _cell(page, WEDNESDAY)
    assert "Closed: Flood" in cell
    assert "closed — 2 bookings to move" in cell


def test_a_closed_day_with_nobody_booked_says_only_closed(nurse_client, unit):
    with frozen(MONDAY, 8):
        Closure.objects.create(unit=unit, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Flood")
        page = nurse_client.get(reverse("schedules:calendar")).content.decode()

    assert "to move" not in _cell(page, WEDNESDAY)


def test_the_week_shows_a_course_on_hold_in_the_boards_red(nurse_client, nurse, clinician, unit):
    with frozen(MONDAY, 8):
        course = make_course(make_patient(family_name="Heldcourse"), start=MONDAY)
        book(course, 1, open_slot(unit, MONDAY, 11), nurse)
        services.record_adverse_event(
            course=course, term="myelitis", onset=MONDAY, serious=True, recorded_by=clinician
        )
        assert TreatmentCourse.objects.get().status == TreatmentCourse.Status.HELD
        page = nurse_client.get(reverse("schedules:week")).content.decode()

    item = re.search(r"<li>[^<]*<a[^>]*>Ada Heldcourse</a>.*?</li>", page, re.S)
    assert item is not None
    assert '<span class="badge text-bg-danger" data-held>On hold for review</span>' in item[0]
