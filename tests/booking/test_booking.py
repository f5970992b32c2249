"""Booking a dose: the rules a nurse meets, the pages, double submits and the chain of doses."""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedules import planning, services
from schedules.models import Booking, Dose, Slot, TreatmentCourse
from tests.factories import (
    MONDAY,
    book,
    book_url,
    confirm,
    frozen,
    make_course,
    make_patient,
    make_slot,
)


@pytest.fixture
def frozen_monday():
    with frozen():
        yield


@pytest.fixture
def course(patient, frozen_monday):
    return make_course(patient)


# The rules ---------------------------------------------------------------------------------


def test_books_dose_one_on_its_due_day(course, unit, nurse):
    slot = make_slot(unit, MONDAY)
    booking = book(course, 1, slot, nurse)
    assert booking.status == Booking.Status.BOOKED
    assert booking.dose.number == 1


def test_full_slot_is_refused(course, unit, nurse):
    slot = make_slot(unit, MONDAY, places=1)
    other = make_course(make_patient("H200"))
    book(other, 1, slot, nurse)
    with pytest.raises(services.SlotFull, match="full"):
        book(course, 1, slot, nurse)
    assert not Dose.objects.filter(course=course).exists(), "a refused booking leaves nothing"


def test_second_booking_for_the_same_dose_is_refused(course, unit, nurse):
    book(course, 1, make_slot(unit, MONDAY, 9), nurse)
    with pytest.raises(services.AlreadyBooked) as error:
        book(course, 1, make_slot(unit, date(2026, 3, 3), 9), nurse)
    assert error.value.booking is not None


def test_replaying_the_same_booking_returns_it(course, unit, nurse):
    slot = make_slot(unit, MONDAY)
    first = book(course, 1, slot, nurse)
    assert book(course, 1, slot, nurse) == first
    assert Booking.objects.count() == 1


def test_same_day_second_booking_is_refused(course, unit, nurse, patient):
    # A second course cannot exist, so use a later dose on the same day via a clinician.
    book(course, 1, make_slot(unit, MONDAY, 9), nurse)
    with pytest.raises(services.SameDayBooking):
        services.book_dose(
            dose=services.dose_for(course=course, number=2),
            slot=make_slot(unit, MONDAY, 13),
            booked_by=nurse,
        )


def test_paused_course_cannot_be_booked(course, unit, nurse):
    course.status = TreatmentCourse.Status.PAUSED
    course.save()
    with pytest.raises(services.CourseNotActive, match="resume"):
        book(course, 1, make_slot(unit, MONDAY), nurse)


def test_patient_without_consent_cannot_be_booked(unit, nurse, frozen_monday):
    course = make_course(make_patient("H300", eligible=False))
    with pytest.raises(services.NotEligible, match="SOD1"):
        book(course, 1, make_slot(unit, MONDAY), nurse)


def test_slot_in_the_past_is_refused(unit, nurse, patient):
    with frozen(MONDAY, 10):
        course = make_course(patient)
        with pytest.raises(services.SlotUnavailable, match="started"):
            book(course, 1, make_slot(unit, MONDAY, 9), nurse)


def test_closed_day_is_refused(course, unit, nurse):
    unit.closures.create(start_date=MONDAY, end_date=MONDAY, reason="Training day")
    with pytest.raises(services.SlotUnavailable, match="Training day"):
        book(course, 1, make_slot(unit, MONDAY), nurse)


def test_bank_holiday_is_refused(unit, nurse, patient):
    good_friday = date(2026, 4, 3)
    with frozen(good_friday - timedelta(days=1)):
        course = make_course(patient, start=good_friday)
        with pytest.raises(services.SlotUnavailable, match="Bank holiday"):
            book(course, 1, make_slot(unit, good_friday), nurse)


def test_nurse_cannot_book_before_due(course, unit, nurse):
    book(course, 1, make_slot(unit, MONDAY), nurse)
    early = make_slot(unit, MONDAY + timedelta(days=10))
    with pytest.raises(services.OutsideWindow, match="clinician must book"):
        book(course, 2, early, nurse, reason="I insist")
    assert Booking.objects.count() == 1


def test_clinician_books_outside_window_only_with_a_reason(course, unit, nurse, clinician):
    book(course, 1, make_slot(unit, MONDAY), nurse)
    late = make_slot(unit, MONDAY + timedelta(days=14 + 10))
    with pytest.raises(services.OutsideWindow, match="give a reason"):
        book(course, 2, late, clinician)
    booking = book(course, 2, late, clinician, reason="Patient abroad")
    assert booking.override_reason == "Patient abroad"


def test_doses_are_booked_in_order(course, unit, nurse):
    with pytest.raises(services.DoseOutOfOrder, match="dose 1 first"):
        book(course, 2, make_slot(unit, MONDAY + timedelta(days=14)), nurse)


def test_dose_cannot_be_moved_past_the_next_booked_dose(course, unit, nurse, clinician):
    first = book(course, 1, make_slot(unit, MONDAY), nurse)
    book(course, 2, make_slot(unit, MONDAY + timedelta(days=14)), nurse)
    with pytest.raises(services.OutsideWindow, match="before dose 2"):
        services.reschedule_booking(
            booking=first,
            slot=make_slot(unit, MONDAY + timedelta(days=15)),
            rescheduled_by=clinician,
            override_reason="test",
        )
    first.refresh_from_db()
    assert first.status == Booking.Status.BOOKED, "a refused move leaves the booking in place"


def test_book_on_29_february(unit, nurse, patient):
    leap_day = date(2028, 2, 29)  # a Tuesday
    with frozen(leap_day):
        course = make_course(patient, start=leap_day)
        assert book(course, 1, make_slot(unit, leap_day), nurse).local_date == leap_day


# Moving, cancelling, the day itself ----------------------------------------------------------


def test_reschedule_keeps_uid_and_bumps_sequence(course, unit, nurse):
    booking = book(course, 1, make_slot(unit, MONDAY), nurse)
    uid = booking.dose.uid
    moved = services.reschedule_booking(
        booking=booking, slot=make_slot(unit, MONDAY + timedelta(days=1)), rescheduled_by=nurse
    )
    moved.dose.refresh_from_db()
    assert moved.dose.uid == uid
    assert moved.dose.calendar_sequence >= 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_cancelling_needs_the_later_dose_cancelled_first(course, unit, nurse):
    first = book(course, 1, make_slot(unit, MONDAY), nurse)
    second = book(course, 2, make_slot(unit, MONDAY + timedelta(days=14)), nurse)
    with pytest.raises(services.BookingStateError, match="cancel dose 2 first"):
        services.cancel_booking(booking=first, reason="Unwell", cancelled_by=nurse)
    services.cancel_booking(booking=second, reason="Unwell", cancelled_by=nurse)
    services.cancel_booking(booking=first, reason="Unwell", cancelled_by=nurse)
    assert not Booking.objects.active().exists()


def test_no_show_cancels_the_later_bookings_counted_from_it(course, unit, nurse):
    first = book(course, 1, make_slot(unit, MONDAY), nurse)
    book(course, 2, make_slot(unit, MONDAY + timedelta(days=14)), nurse)
    with frozen(MONDAY, 17):
        first = services.mark_no_show(booking=first, marked_by=nurse)
    assert [b.dose.number for b in first.cancelled_later] == [2]
    assert not Booking.objects.active().exists()
    assert "missed" in Booking.objects.get(dose__number=2).cancel_reason


def test_arrival_only_on_the_day(course, unit, nurse):
    booking = book(course, 1, make_slot(unit, MONDAY + timedelta(days=1)), nurse)
    with pytest.raises(services.BookingStateError, match="on the day"):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with frozen(MONDAY + timedelta(days=1), 9):
        assert services.mark_arrived(booking=booking, marked_by=nurse).status == "arrived"


# Book next doses -----------------------------------------------------------------------------


def test_suggestions_are_chained_from_the_slot_before(course, unit, nurse):
    # Slots only on the days of the chain, and dose 1's first free slot is a day late.
    tuesday = MONDAY + timedelta(days=1)
    make_slot(unit, MONDAY, places=1)
    book(make_course(make_patient("H201")), 1, Slot.objects.get(), nurse)  # Monday is full
    make_slot(unit, tuesday)
    make_slot(unit, tuesday + timedelta(days=14))
    make_slot(unit, tuesday + timedelta(days=28))
    course = TreatmentCourse.objects.prefetch_related("events", "doses").get(pk=course.pk)
    suggestions = planning.suggest_slots(course=course, unit=unit, count=3)
    assert [s.planned.number for s in suggestions] == [1, 2, 3]
    assert [s.slot.local_date for s in suggestions] == [
        tuesday,
        tuesday + timedelta(days=14),
        tuesday + timedelta(days=28),
    ]
    assert suggestions[1].planned.due == tuesday + timedelta(days=14)


def test_book_next_doses_is_all_or_none(course, unit, nurse):
    one = make_slot(unit, MONDAY)
    two = make_slot(unit, MONDAY + timedelta(days=14), places=1)
    three = make_slot(unit, MONDAY + timedelta(days=28))
    other = make_course(make_patient("H202"), start=MONDAY + timedelta(days=14))
    book(other, 1, two, nurse)  # dose 2's slot is taken meanwhile
    with pytest.raises(services.SlotFull, match="Dose 2: .*Nothing was booked"):
        services.book_next_doses(
            course=course, choices=[(1, one), (2, two), (3, three)], booked_by=nurse
        )
    assert not Booking.objects.filter(dose__course=course).exists()
    assert not Dose.objects.filter(course=course).exists()


def test_book_next_doses_books_the_chain(course, unit, nurse):
    slots = [make_slot(unit, MONDAY + timedelta(days=d)) for d in (0, 14, 28)]
    bookings = services.book_next_doses(
        course=course, choices=list(zip([1, 2, 3], slots, strict=True)), booked_by=nurse
    )
    assert [b.dose.number for b in bookings] == [1, 2, 3]
    # Replayed: the same bookings, nothing new.
    again = services.book_next_doses(
        course=course, choices=list(zip([1, 2, 3], slots, strict=True)), booked_by=nurse
    )
    assert again == bookings
    assert Booking.objects.count() == 3


# The pages -----------------------------------------------------------------------------------


def test_book_page_shows_due_date_window_and_free_slots(course, unit, nurse_client):
    make_slot(unit, MONDAY, 9)
    make_slot(unit, MONDAY, 11)
    response = nurse_client.get(book_url(course))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Mon 2 Mar 2026" in page  # due
    assert "Mon 2 Mar – Mon 9 Mar 2026" in page  # window
    assert "Mon 2 Mar 2026, 09:00" in page
    assert "Mon 2 Mar 2026, 11:00" in page
    assert not Dose.objects.exists(), "showing the page creates nothing"


def test_book_page_books_and_confirms(course, unit, nurse_client):
    slot = make_slot(unit, MONDAY)
    response = nurse_client.post(book_url(course), {"slot": slot.pk}, follow=True)
    assert response.status_code == 200
    booking = Booking.objects.get()
    assert response.redirect_chain[-1][0] == reverse("schedules:booking", args=[booking.pk])
    assert "Booked dose 1 for Ada Lovelace" in response.content.decode()


def test_double_submit_books_once_and_shows_success(course, unit, nurse_client):
    slot = make_slot(unit, MONDAY)
    nurse_client.post(book_url(course), {"slot": slot.pk})
    response = nurse_client.post(book_url(course), {"slot": slot.pk}, follow=True)
    assert response.status_code == 200
    assert "Booked dose 1" in response.content.decode()
    assert Booking.objects.count() == 1


def test_book_page_shows_refusal_and_books_nothing(course, unit, nurse, nurse_client):
    slot = make_slot(unit, MONDAY, places=1)
    book(make_course(make_patient("H203")), 1, slot, nurse)
    response = nurse_client.post(book_url(course), {"slot": slot.pk})
    assert response.status_code == 400
    assert "is full" in response.content.decode()
    assert not Booking.objects.filter(dose__course=course).exists()
    assert not Dose.objects.filter(course=course).exists()


def test_book_page_bad_slot_is_a_form_error(course, unit, nurse_client):
    for value in ("", "abc", "999999"):
        response = nurse_client.post(book_url(course), {"slot": value})
        assert response.status_code == 400
    assert not Booking.objects.exists()


def test_nurse_override_gets_the_readable_refusal(course, unit, nurse, nurse_client):
    book(course, 1, make_slot(unit, MONDAY), nurse)
    early = make_slot(unit, MONDAY + timedelta(days=7))
    response = nurse_client.post(
        book_url(course, 2), {"slot": early.pk, "override_reason": "Because"}
    )
    assert response.status_code == 400
    assert "A clinician must book it" in response.content.decode()
    assert Booking.objects.count() == 1


def test_clinician_override_on_the_page(course, unit, nurse, clinician_client):
    book(course, 1, make_slot(unit, MONDAY), nurse)
    early = make_slot(unit, MONDAY + timedelta(days=12))
    page = clinician_client.get(book_url(course, 2) + "?start=2026-03-14").content.decode()
    assert "Outside window" in page
    assert "Reason for booking outside the window" in page
    response = clinician_client.post(
        book_url(course, 2), {"slot": early.pk, "override_reason": "Travel plans"}
    )
    assert response.status_code == 302
    assert Booking.objects.get(dose__number=2).override_reason == "Travel plans"


def test_user_without_permission_gets_403(course, unit, django_user_model, client):
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))
    assert client.get(book_url(course)).status_code == 403
    assert client.get(reverse("schedules:needs_booking")).status_code == 403


def test_anonymous_is_sent_to_login(course, client):
    response = client.get(book_url(course))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_missing_course_or_dose_is_404(course, nurse_client):
    assert nurse_client.get(reverse("schedules:book", args=[999999, 1])).status_code == 404
    assert nurse_client.get(book_url(course, 0)).status_code == 404


def test_look_further_with_a_bad_date_is_a_message_not_an_error(course, unit, nurse_client):
    response = nurse_client.get(book_url(course) + "?start=not-a-date")
    assert response.status_code == 200
    assert "Enter a date" in response.content.decode()


def test_book_next_page_and_confirm(course, unit, nurse_client):
    for days in (0, 14, 28):
        make_slot(unit, MONDAY + timedelta(days=days))
    url = reverse("schedules:book_next", args=[course.pk])
    page = nurse_client.get(url).content.decode()
    assert "Book 3 doses" in page
    choices = [
        f"{n}:{s.pk}" for n, s in zip([1, 2, 3], Slot.objects.order_by("start"), strict=True)
    ]
    response = nurse_client.post(url, {"choice": choices}, follow=True)
    assert "Booked doses 1, 2, 3" in response.content.decode()
    assert Booking.objects.active().count() == 3


def test_book_next_bad_choices_are_a_message(course, unit, nurse_client):
    url = reverse("schedules:book_next", args=[course.pk])
    response = nurse_client.post(url, {"choice": ["x:y"]}, follow=True)
    assert "not understood" in response.content.decode()
    response = nurse_client.post(url, {"choice": ["1:999999"]}, follow=True)
    assert "no longer exists" in response.content.decode()
    assert not Booking.objects.exists()


def test_reschedule_cancel_arrived_and_no_show_pages(course, unit, nurse, nurse_client):
    booking = book(course, 1, make_slot(unit, MONDAY, 9), nurse)
    later = make_slot(unit, MONDAY, 11)
    page = nurse_client.get(reverse("schedules:reschedule", args=[booking.pk])).content.decode()
    assert "Mon 2 Mar 2026, 11:00" in page
    response = confirm(
        nurse_client,
        reverse("schedules:reschedule", args=[booking.pk]),
        {"slot": later.pk},
        follow=True,
    )
    assert "Moved dose 1" in response.content.decode()
    moved = Booking.objects.active().get()
    assert moved.slot == later
    # A replayed move is not an error.
    response = confirm(
        nurse_client,
        reverse("schedules:reschedule", args=[booking.pk]),
        {"slot": later.pk},
        follow=True,
    )
    assert response.status_code == 200

    evil = {"next": "https://evil.example/"}
    response = nurse_client.post(reverse("schedules:arrived", args=[moved.pk]), evil)
    assert response["Location"] == reverse("schedules:day", args=[MONDAY])
    moved.refresh_from_db()
    assert moved.status == Booking.Status.ARRIVED
    response = nurse_client.post(reverse("schedules:noshow", args=[moved.pk]), follow=True)
    assert "not waiting for arrival" in response.content.decode()
    assert nurse_client.get(reverse("schedules:arrived", args=[moved.pk])).status_code == 405


def test_cancel_page_needs_a_reason(course, unit, nurse, nurse_client):
    booking = book(course, 1, make_slot(unit, MONDAY, 9), nurse)
    url = reverse("schedules:cancel", args=[booking.pk])
    assert nurse_client.post(url, {"reason": ""}).status_code == 400
    response = nurse_client.post(url, {"reason": "Patient unwell", "next": "/needs-booking/"})
    assert response["Location"] == "/needs-booking/"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_book_page_for_a_paused_course_says_why(course, unit, nurse_client):
    course.status = TreatmentCourse.Status.PAUSED
    course.save()
    slot = make_slot(unit, MONDAY)
    response = nurse_client.post(book_url(course), {"slot": slot.pk})
    assert response.status_code == 400
    assert "a clinician must resume it" in response.content.decode()
    assert not Booking.objects.exists()


def test_reschedule_goes_back_to_the_list_it_came_from(course, unit, nurse, nurse_client):
    booking = book(course, 1, make_slot(unit, MONDAY, 9), nurse)
    later = make_slot(unit, MONDAY, 11)
    day_list = reverse("schedules:day", args=[MONDAY])
    response = confirm(
        nurse_client,
        reverse("schedules:reschedule", args=[booking.pk]),
        {"slot": later.pk, "next": day_list},
    )
    assert response["Location"] == day_list


# Property: chained suggestions ---------------------------------------------------------------

OPEN_DAYS = st.sets(st.integers(min_value=0, max_value=120), min_size=1, max_size=60)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(open_days=OPEN_DAYS, start_offset=st.integers(min_value=0, max_value=20))
def test_suggestions_follow_the_engine_chain(unit, nurse, frozen_monday, open_days, start_offset):
    """Whatever days have free places, each suggestion is the first free slot inside its
    dose's window, and the next dose is due its interval after the suggested date."""
    with transaction.atomic():
        for offset in open_days:
            make_slot(unit, MONDAY + timedelta(days=offset))
        course = make_course(
            make_patient(f"P{start_offset}-{len(open_days)}"), MONDAY + timedelta(start_offset)
        )
        course = TreatmentCourse.objects.prefetch_related("events", "doses").get(pk=course.pk)
        suggestions = planning.suggest_slots(course=course, unit=unit, count=3)
        calendar = unit.calendar(MONDAY, MONDAY + timedelta(days=200))
        # Bank holidays close the unit even where a slot exists (Good Friday is 3 April).
        free_days = sorted(
            day
            for day in (MONDAY + timedelta(days=offset) for offset in open_days)
            if not calendar.closure_reason(day)
        )
        previous = None
        for suggestion in suggestions:
            planned = suggestion.planned
            if previous is not None:
                assert planned.due == previous + timedelta(days=14)  # loading doses
            in_window = [d for d in free_days if planned.window_start <= d <= planned.window_end]
            if suggestion.slot is None:
                assert not in_window
                break
            assert suggestion.slot.local_date == in_window[0]
            previous = suggestion.slot.local_date
        transaction.set_rollback(True)


def test_marking_twice_is_not_an_error(course, unit, nurse, nurse_client):
    booking = book(course, 1, make_slot(unit, MONDAY, 9), nurse)
    url = reverse("schedules:arrived", args=[booking.pk])
    nurse_client.post(url)
    response = nurse_client.post(url, follow=True)
    assert "has arrived" in response.content.decode()
    cancel_url = reverse(
        "schedules:cancel",
        args=[book(course, 2, make_slot(unit, MONDAY + timedelta(days=14)), nurse).pk],
    )
    nurse_client.post(cancel_url, {"reason": "Unwell"})
    response = nurse_client.post(cancel_url, {"reason": "Unwell"}, follow=True)
    assert "Cancelled dose 2" in response.content.decode()
