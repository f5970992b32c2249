"""The waitlist (issue 19 item 5): a patient who would come earlier is offered first on a day
with a free place inside their dose's window and at least their notice ahead; "Move here" goes
through the reschedule service (its locks, checks and the confirmed preview) and takes them off
the waitlist."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from schedules import services
from schedules.models import Booking, WaitlistEntry
from tests.factories import (
    MONDAY,
    book,
    frozen,
    make_course,
    make_patient,
    make_slot,
    open_slot,
    six_doses_given,
)
from tests.support.threads import race

# Today is Mon 2 Mar 2026. Dose 7 is due Tue 10 Mar (window 10-17 Mar: book on or after due,
# flagged later than 7 days); it is booked on Tue 17 Mar, the end of its window.
DUE = date(2026, 3, 10)
BOOKED = date(2026, 3, 17)
WEDNESDAY = date(2026, 3, 11)  # 9 days ahead, inside the window


@pytest.fixture
def waiting(patient, unit, nurse):
    """Ada's dose 7 booked on 17 Mar; she would come earlier with 3 days' notice."""
    with frozen():
        course = six_doses_given(patient)
        booking = book(course, 7, open_slot(unit, BOOKED), nurse)
        services.set_waitlist(booking=booking, notice_days=3, this_dose_only=False, set_by=nurse)
        yield course, booking


def book_day(client, day):
    return client.get(reverse("schedules:book_day", args=[day])).content.decode()


def offered(page: str) -> bool:
    return "Waiting for an earlier date" in page and "Ada Lovelace" in page


def test_a_free_place_inside_the_window_with_enough_notice_is_offered_first(
    waiting, unit, nurse_client
):
    open_slot(unit, WEDNESDAY)
    with frozen():
        page = book_day(nurse_client, WEDNESDAY)
    assert offered(page)
    assert "needs 3 days' notice" in page
    assert page.index("Waiting for an earlier date") < page.index("<table")  # first
    assert "Move here" in page


def test_no_offer_before_the_window_opens(waiting, unit, nurse_client):
    open_slot(unit, DUE - timedelta(days=1))  # Mon 9 Mar: before dose 7 is due
    with frozen():
        assert not offered(book_day(nurse_client, DUE - timedelta(days=1)))
        open_slot(unit, DUE)
        assert offered(book_day(nurse_client, DUE))


def test_no_offer_on_or_after_the_booked_day(waiting, unit, nurse_client):
    open_slot(unit, BOOKED, hour=13)  # a free place on the day she already comes
    with frozen():
        assert not offered(book_day(nurse_client, BOOKED))


def test_no_offer_without_the_notice_they_need(waiting, unit, nurse, nurse_client):
    _, booking = waiting
    open_slot(unit, WEDNESDAY)
    open_slot(unit, WEDNESDAY + timedelta(days=1))
    with frozen():
        services.set_waitlist(booking=booking, notice_days=10, this_dose_only=True, set_by=nurse)
        assert not offered(book_day(nurse_client, WEDNESDAY))  # 9 days ahead
        assert offered(book_day(nurse_client, WEDNESDAY + timedelta(days=1)))  # 10 days


def test_no_offer_on_a_day_with_no_free_place(waiting, unit, nurse, nurse_client):
    slot = make_slot(unit, WEDNESDAY, places=1)
    with frozen():
        other = book(make_course(make_patient("H200002"), start=WEDNESDAY), 1, slot, nurse)
        assert not offered(book_day(nurse_client, WEDNESDAY))
        services.cancel_booking(booking=other, reason="Patient unwell", cancelled_by=nurse)
        assert offered(book_day(nurse_client, WEDNESDAY))  # the place freed


def move(client, page: str, booking):
    form = re.search(
        rf'action="{reverse("schedules:move_earlier", args=[booking.pk])}"[^>]*>.*?'
        r'name="slot" value="(\d+)".*?name="previewed" value="([0-9a-f]+)"',
        page,
        re.S,
    )
    assert form, "no Move here form"
    return client.post(
        reverse("schedules:move_earlier", args=[booking.pk]),
        {"slot": form.group(1), "previewed": form.group(2), "next": "/calendar/"},
        follow=True,
    )


def test_move_here_moves_the_booking_and_takes_them_off_the_waitlist(waiting, unit, nurse_client):
    course, booking = waiting
    slot = open_slot(unit, WEDNESDAY)
    with frozen():
        response = move(nurse_client, book_day(nurse_client, WEDNESDAY), booking)
    assert "Moved dose 7 for Ada Lovelace" in response.content.decode()
    moved = Booking.objects.active().get(dose__course=course, dose__number=7)
    assert moved.slot == slot
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not WaitlistEntry.objects.exists()


def test_a_place_taken_meanwhile_moves_nothing(waiting, unit, nurse, nurse_client):
    _, booking = waiting
    slot = make_slot(unit, WEDNESDAY, places=1)
    with frozen():
        page = book_day(nurse_client, WEDNESDAY)
        book(make_course(make_patient("H200002"), start=WEDNESDAY), 1, slot, nurse)
        response = move(nurse_client, page, booking)
    assert "Nothing was moved" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED and booking.local_date == BOOKED
    assert WaitlistEntry.objects.filter(patient=booking.dose.course.patient).exists()


def test_a_move_that_changes_more_than_the_page_showed_moves_nothing(
    waiting, unit, nurse, nurse_client
):
    course, booking = waiting
    open_slot(unit, WEDNESDAY)
    with frozen():
        page = book_day(nurse_client, WEDNESDAY)
        # Meanwhile dose 8 is booked: moving dose 7 earlier now puts it outside its window.
        book(course, 8, open_slot(unit, BOOKED + timedelta(days=28)), nurse)
        response = move(nurse_client, page, booking)
    assert "not what the page showed" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_any_reschedule_earlier_clears_the_waitlist_and_a_later_one_keeps_it(waiting, unit, nurse):
    course, booking = waiting
    with frozen():
        later = services.reschedule_booking(
            booking=booking, slot=open_slot(unit, BOOKED, hour=13), rescheduled_by=nurse
        )
        assert WaitlistEntry.objects.exists()
        services.reschedule_booking(
            booking=later, slot=open_slot(unit, WEDNESDAY), rescheduled_by=nurse
        )
    assert not WaitlistEntry.objects.exists()


def test_nurses_set_and_clear_it_on_the_booking_page(patient, unit, nurse, nurse_client):
    with frozen():
        course = six_doses_given(patient)
        booking = book(course, 7, open_slot(unit, BOOKED), nurse)
        url = reverse("schedules:booking", args=[booking.pk])
        assert "Add to the waitlist" in nurse_client.get(url).content.decode()

        refused = nurse_client.post(
            reverse("schedules:waitlist_set", args=[booking.pk]),
            {"notice_days": "99", "scope": "next"},
            follow=True,
        )
        assert "Not added to the waitlist" in refused.content.decode()
        assert not WaitlistEntry.objects.exists()

        nurse_client.post(
            reverse("schedules:waitlist_set", args=[booking.pk]),
            {"notice_days": "5", "scope": "this"},
        )
        entry = WaitlistEntry.objects.get()
        assert (entry.notice_days, entry.booking, entry.added_by) == (5, booking, nurse)
        page = nurse_client.get(url).content.decode()
        assert "on the" in page and "5 days' notice" in page

        nurse_client.post(reverse("schedules:waitlist_clear", args=[booking.pk]))
        assert not WaitlistEntry.objects.exists()


def test_a_visit_today_or_past_cannot_be_waitlisted(patient, unit, nurse):
    with frozen():
        course = make_course(patient, start=MONDAY)
        booking = book(course, 1, open_slot(unit, MONDAY), nurse)
        with pytest.raises(services.BookingStateError):
            services.set_waitlist(
                booking=booking, notice_days=0, this_dose_only=False, set_by=nurse
            )


def test_the_waitlist_is_two_clicks_from_today(
    waiting, nurse_client, django_assert_max_num_queries
):
    with frozen():
        today = nurse_client.get(reverse("schedules:today")).content.decode()
        assert f'href="{reverse("schedules:waitlist")}"' in today
        with django_assert_max_num_queries(12):
            page = nurse_client.get(reverse("schedules:waitlist")).content.decode()
    assert "Ada Lovelace" in page
    assert "3 days" in page
    assert "Dose 7, Tue 17 Mar 2026, 09:00" in page


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_moves_into_the_last_place_move_exactly_one(unit, nurse):
    """Race-safe: the reschedule service's slot lock counts the last place once."""
    with frozen():
        slot = make_slot(unit, WEDNESDAY, places=1)
        bookings = []
        for number in (1, 2):
            course = six_doses_given(make_patient(f"H30000{number}"))
            bookings.append(book(course, 7, open_slot(unit, BOOKED), nurse))

        def mover(booking):
            return lambda: services.reschedule_booking(
                booking=booking, slot=slot, rescheduled_by=nurse
            )

        results = race([mover(booking) for booking in bookings])
    assert sum(isinstance(result, Booking) for result in results) == 1, results
    assert sum(isinstance(result, services.SlotFull) for result in results) == 1, results
    assert Booking.objects.active().filter(slot=slot).count() == 1


def test_cancelling_a_place_says_who_waits_for_it(waiting, unit, nurse, nurse_client):
    slot = make_slot(unit, WEDNESDAY, places=1)
    with frozen():
        other = book(make_course(make_patient("H200002"), start=WEDNESDAY), 1, slot, nurse)
        response = nurse_client.post(
            reverse("schedules:cancel", args=[other.pk]), {"reason": "Patient unwell"}, follow=True
        )
    assert (
        "A place is free on Wed 11 Mar 2026 and 1 patient waiting for an earlier date could "
        "take it" in response.content.decode()
    )
