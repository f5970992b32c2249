"""Moving a series (issue 19 item 4): when a booked dose moves, one preview offers to move the
later booked doses with it, each to the best slot of its new window; the confirmation lists
every date old → new and the letter to reprint; one click does all, atomically."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from schedules import planning, services
from schedules.models import Booking
from tests.factories import (
    DOSE_7,
    DOSE_8,
    MONDAY,
    booking_of,
    course_with_doses_7_and_8_booked,
    frozen,
    make_course,
    make_patient,
    open_slot,
)

NEW_7 = DOSE_7 + timedelta(days=3)  # Fri 13 Mar: dose 8 is then due Fri 10 Apr
NEW_8 = NEW_7 + timedelta(days=28)


@pytest.fixture(autouse=True)
def frozen_monday():
    with frozen(MONDAY, 8):
        yield


@pytest.fixture
def course(patient, unit, nurse):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    for day in range(0, 21):  # slots through dose 8's new window
        open_slot(unit, DOSE_8 + timedelta(days=day))
    return course


def reschedule_url(booking):
    return reverse("schedules:reschedule", args=[booking.pk])


def test_preview_offers_to_move_the_later_dose_to_its_new_window(course, unit, nurse_client):
    seven = booking_of(course, 7)
    target = open_slot(unit, NEW_7)
    page = nurse_client.post(
        reschedule_url(seven), {"slot": target.pk, "preview": "1"}
    ).content.decode()
    assert "Move the later doses with it" in page
    assert "Dose 8: Tue 7 Apr 2026, 09:00 → <strong>Fri 10 Apr 2026, 09:00</strong>" in page
    assert "Move dose 7 and 1 later dose" in page
    assert "Reprint the schedule letter" in page


def test_series_moves_are_inside_each_chained_window(course, unit):
    seven = booking_of(course, 7)
    (move,) = planning.series_moves(
        course, change=planning.Reschedule(seven, open_slot(unit, NEW_7))
    )
    assert move.planned.due == NEW_8
    assert move.planned.window_start <= move.slot.local_date <= move.planned.window_end
    assert not move.stays


def test_one_click_moves_all_and_lists_every_date(course, unit, nurse_client):
    seven, eight = booking_of(course, 7), booking_of(course, 8)
    target = open_slot(unit, NEW_7)
    url = reschedule_url(seven)
    shown = nurse_client.post(url, {"slot": target.pk, "preview": "1"}).content.decode()
    previewed = re.search(r'name="previewed" value="([0-9a-f]+)"', shown)[1]
    moves = re.findall(r'name="move" value="([0-9:]+)"', shown)
    response = nurse_client.post(
        url,
        {"slot": target.pk, "previewed": previewed, "move": moves, "series": "1"},
        follow=True,
    )
    page = response.content.decode()
    assert booking_of(course, 7).local_date == NEW_7
    assert booking_of(course, 8).local_date == NEW_8
    seven.refresh_from_db()
    eight.refresh_from_db()
    assert seven.status == eight.status == Booking.Status.CANCELLED
    assert "Doses moved together" in page
    assert "Dose 7: Tue 10 Mar 2026, 09:00 → <strong>Fri 13 Mar 2026, 09:00</strong>" in page
    assert "Dose 8: Tue 7 Apr 2026, 09:00 → <strong>Fri 10 Apr 2026, 09:00</strong>" in page
    assert "Reprint the letter" in page
    # Shown once: the next visit to the page does not repeat it.
    again = nurse_client.get(reverse("schedules:booking", args=[booking_of(course, 7).pk]))
    assert "Doses moved together" not in again.content.decode()


def test_series_is_atomic_when_a_later_slot_was_taken_meanwhile(course, unit, nurse):
    seven, eight = booking_of(course, 7), booking_of(course, 8)
    target = open_slot(unit, NEW_7)
    (move,) = planning.series_moves(course, change=planning.Reschedule(seven, target))
    for index in range(move.slot.places):  # dose 8's new slot fills up meanwhile
        other = make_course(make_patient(f"S{index}"), start=move.slot.local_date)
        services.book_dose_number(course=other, number=1, slot=move.slot, booked_by=nurse)
    with pytest.raises(services.SlotFull, match="Dose 8: .*Nothing was moved"):
        services.move_series(
            booking=seven, slot=target, later=[(eight, move.slot)], rescheduled_by=nurse
        )
    assert booking_of(course, 7).pk == seven.pk and booking_of(course, 7).local_date == DOSE_7
    assert booking_of(course, 8).pk == eight.pk and booking_of(course, 8).local_date == DOSE_8


def test_series_refuses_a_later_slot_outside_its_new_window(course, unit, nurse):
    """The service checks each dose against the new dates of the doses before it: moving dose
    8 to a day still before its new due date is refused, and nothing moves."""
    seven, eight = booking_of(course, 7), booking_of(course, 8)
    too_early = open_slot(unit, NEW_8 - timedelta(days=2))
    with pytest.raises(services.OutsideWindow, match="Dose 8: .*Nothing was moved"):
        services.move_series(
            booking=seven,
            slot=open_slot(unit, NEW_7),
            later=[(eight, too_early)],
            rescheduled_by=nurse,
        )
    assert booking_of(course, 7).local_date == DOSE_7
    assert booking_of(course, 8).local_date == DOSE_8


def test_bad_moves_posted_are_a_message_not_an_error(course, unit, nurse_client):
    seven = booking_of(course, 7)
    target = open_slot(unit, NEW_7)
    for value in ("x", "1:", "99999:99999", "0:1"):
        response = nurse_client.post(
            reschedule_url(seven), {"slot": target.pk, "move": value, "series": "1"}
        )
        assert response.status_code == 400
    assert booking_of(course, 7).local_date == DOSE_7
