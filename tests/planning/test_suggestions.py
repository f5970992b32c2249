"""Load-levelled suggestions (issue 19 item 3): inside the engine's window, the day that keeps
the unit's daily load nearest its target, ties to the earliest, each with its reason in
words; never a slot the dose's visit just failed on; "Book next doses" re-chains when the
nurse changes an earlier dose."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from schedules import planning, services
from schedules.models import Booking, Slot, Unit
from schedules.planning.facts import course_queryset
from schedules.unit.loads import level_loads
from tests.factories import MONDAY, at, book, frozen, make_course, make_patient, make_slot

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


@pytest.fixture(autouse=True)
def frozen_monday():
    with frozen(MONDAY, 7):
        yield


def fill(unit, slot, how_many, nurse, prefix):
    """`how_many` other patients booked into `slot` (their dose 1, due that day)."""
    for index in range(how_many):
        other = make_course(make_patient(f"{prefix}{index}"), start=slot.local_date)
        book(other, 1, slot, nurse)


def planned(course_pk):
    return course_queryset().get(pk=course_pk)


def three_days(unit, nurse):
    """Mon 3 of 4 places booked (booking one more takes it over the 85% target), Tue 0 of 4,
    Wed 1 of 4: the levelled order is Tue, Wed (both stay under target: earliest first),
    then Mon."""
    monday = make_slot(unit, MONDAY, places=4)
    tuesday = make_slot(unit, TUESDAY, places=4)
    wednesday = make_slot(unit, WEDNESDAY, places=4)
    fill(unit, monday, 3, nurse, "M")
    fill(unit, wednesday, 1, nurse, "W")
    return monday, tuesday, wednesday


def test_level_loads_count_places_and_bookings_per_open_day(unit, nurse):
    monday, tuesday, _ = three_days(unit, nurse)
    loads = level_loads(unit, MONDAY, MONDAY + timedelta(days=6))
    assert (loads[MONDAY].places, loads[MONDAY].booked, loads[MONDAY].free) == (4, 3, 1)
    assert loads[MONDAY].scarcest == 0.75
    assert loads[TUESDAY].scarcest == 0
    assert loads[TUESDAY].reason == "Tue 3 Mar 2026: 0 of 4 places booked, 4 free"
    assert MONDAY + timedelta(days=5) not in loads  # no slot: takes no booking


def test_suggestions_are_levelled_best_first_each_with_its_reason(unit, nurse, patient):
    monday, tuesday, wednesday = three_days(unit, nurse)
    course = make_course(patient)
    (suggestion,) = planning.suggest_slots(course=planned(course.pk), unit=unit, count=1)
    assert [o.slot for o in suggestion.options] == [tuesday, wednesday, monday]
    assert suggestion.slot == tuesday
    assert suggestion.reason == "Tue 3 Mar 2026: 0 of 4 places booked, 4 free"
    assert [o.reason for o in suggestion.options][1:] == [
        "Wed 4 Mar 2026: 1 of 4 places booked, 3 free",
        "Mon 2 Mar 2026: 3 of 4 places booked, 1 free",
    ]
    assert suggestion.options[2].over_target


def test_first_free_would_have_chosen_the_fullest_day(unit, nurse, patient):
    """The baseline the simulation compares with: first free is Monday, the day booking
    takes over target."""
    monday, _, _ = three_days(unit, nurse)
    course = make_course(patient)
    (first,) = planning.suggest_slots(course=planned(course.pk), unit=unit, count=1, levelled=False)
    assert first.slot == monday


def test_a_higher_target_keeps_the_earliest_day(unit, nurse, patient):
    monday, _, _ = three_days(unit, nurse)
    unit.load_target_percent = 100
    unit.save()
    course = make_course(patient)
    (suggestion,) = planning.suggest_slots(course=planned(course.pk), unit=unit, count=1)
    assert suggestion.slot == monday  # 4 of 4 is on target: every day ties, earliest wins


def test_never_outside_the_engines_window(unit, nurse, patient):
    """Emptier days just before and after the window are never offered: dose 2's window is
    due (Mon 16 Mar) to due + 7 days."""
    course = make_course(patient)
    book(course, 1, make_slot(unit, MONDAY, places=4), nurse)
    due = MONDAY + timedelta(days=14)
    inside = make_slot(unit, due, places=4)
    fill(unit, inside, 3, nurse, "I")
    before = make_slot(unit, due - timedelta(days=1), places=4)
    after = make_slot(unit, due + timedelta(days=8), places=4)
    (suggestion,) = planning.suggest_slots(course=planned(course.pk), unit=unit, count=1)
    assert suggestion.planned.number == 2
    offered = {o.slot for o in suggestion.options}
    assert inside in offered
    assert before not in offered and after not in offered
    for offer in suggestion.options:
        assert suggestion.planned.window_start <= offer.slot.local_date
        assert offer.slot.local_date <= suggestion.planned.window_end


def test_the_chain_counts_each_window_from_the_suggested_day(unit, nurse, patient):
    course = make_course(patient)
    for day in range(0, 45):
        make_slot(unit, MONDAY + timedelta(days=day), places=4)
    fill(unit, Slot.objects.get(start=at(MONDAY, 9)), 4, nurse, "F")  # Monday full
    suggestions = planning.suggest_slots(course=planned(course.pk), unit=unit, count=3)
    days = [s.slot.local_date for s in suggestions]
    assert days[0] == TUESDAY
    assert suggestions[1].planned.due == TUESDAY + timedelta(days=14)
    assert days[1] == TUESDAY + timedelta(days=14)
    assert suggestions[2].planned.due == days[1] + timedelta(days=14)


def test_a_failed_visits_day_is_not_offered_again_nor_preselected(unit, nurse, patient):
    """Issue 19 "Why": after a failed lumbar puncture the same slot came back, pre-selected."""
    course = make_course(patient)
    morning = make_slot(unit, MONDAY, 9, places=4)
    afternoon = make_slot(unit, MONDAY, 14, places=4)
    tuesday = make_slot(unit, TUESDAY, places=4)
    fill(unit, tuesday, 2, nurse, "T")
    booking = book(course, 1, morning, nurse)
    services.mark_arrived(booking=booking, marked_by=nurse)
    services.record_not_given(booking=booking, reason="lp_unsuccessful", recorded_by=nurse)
    (suggestion,) = planning.suggest_slots(course=planned(course.pk), unit=unit, count=1)
    assert suggestion.planned.number == 1
    offered = [o.slot for o in suggestion.options]
    assert morning not in offered and afternoon not in offered
    assert suggestion.slot == tuesday


def test_the_failed_day_is_not_preselected_on_the_book_page(unit, nurse, patient, nurse_client):
    course = make_course(patient)
    morning = make_slot(unit, MONDAY, 9, places=4)
    make_slot(unit, MONDAY, 14, places=4)
    tuesday = make_slot(unit, TUESDAY, places=4)
    booking = book(course, 1, morning, nurse)
    services.mark_arrived(booking=booking, marked_by=nurse)
    services.record_not_given(booking=booking, reason="lp_unsuccessful", recorded_by=nurse)
    page = nurse_client.get(reverse("schedules:book", args=[course.pk, 1])).content.decode()
    assert "Mon 2 Mar 2026, 14:00" not in page
    assert f'value="{tuesday.pk}" id="slot-{tuesday.pk}" checked' in page
    # Looking at that day on purpose shows it, marked, and does not pre-select it.
    page = nurse_client.get(
        reverse("schedules:book", args=[course.pk, 1]) + "?start=2026-03-02"
    ).content.decode()
    assert "Mon 2 Mar 2026, 14:00" in page
    assert "This dose was not given this day" in page
    assert " checked" not in page.split("Mon 2 Mar 2026, 14:00")[0].rsplit("<input", 1)[-1]


def test_book_page_shows_the_suggestion_and_each_days_load(unit, nurse, patient, nurse_client):
    three_days(unit, nurse)
    course = make_course(patient)
    page = nurse_client.get(reverse("schedules:book", args=[course.pk, 1])).content.decode()
    assert page.index("Tue 3 Mar 2026, 09:00") < page.index("Wed 4 Mar 2026, 09:00")
    assert page.index("Wed 4 Mar 2026, 09:00") < page.index("Mon 2 Mar 2026, 09:00")
    assert "Day: Tue 3 Mar 2026: 0 of 4 places booked, 4 free" in page
    assert "Suggested" in page


def test_needs_booking_shows_free_places_in_words(unit, nurse, patient, nurse_client):
    three_days(unit, nurse)
    make_course(patient)
    page = nurse_client.get(reverse("schedules:needs_booking")).content.decode()
    assert 'Book Tue 3 Mar 2026, 09:00 <span class="small">· 4 of 4 free</span>' in page
    assert 'title="' not in page.split("Book Tue 3 Mar")[0].rsplit("<button", 1)[-1]


# Book next doses: a changed first date re-chains the later doses ------------------------------


def test_book_next_with_a_changed_first_date_suggests_the_later_doses_again(
    unit, nurse, patient, nurse_client
):
    """Issue 19 "Why": the nurse moves dose 1 later; the page kept doses 2 and 3 where they
    were (now before they are due) and refused, saying a clinician must book them."""
    course = make_course(patient)
    for day in range(0, 50):
        make_slot(unit, MONDAY + timedelta(days=day), places=4)
    url = reverse("schedules:book_next", args=[course.pk])
    first = planning.suggest_slots(course=planned(course.pk), unit=unit, count=3)
    assert [s.slot.local_date for s in first] == [
        MONDAY,
        MONDAY + timedelta(14),
        MONDAY + timedelta(28),
    ]
    thursday = Slot.objects.get(start=at(MONDAY + timedelta(days=3), 9))
    posted = [f"1:{thursday.pk}", f"2:{first[1].slot.pk}", f"3:{first[2].slot.pk}"]

    response = nurse_client.post(url, {"choice": posted}, follow=True)

    page = response.content.decode()
    assert "A clinician must book" not in page
    assert "suggested again" in page
    assert not Booking.objects.filter(dose__course=course).exists(), "nothing booked unseen"
    # The page now shows dose 2 from Thursday's date, and booking what it shows works.
    assert "Thu 19 Mar 2026, 09:00" in page
    shown = [
        f"{n}:{Slot.objects.get(start=at(day, 9)).pk}"
        for n, day in (
            (1, MONDAY + timedelta(3)),
            (2, MONDAY + timedelta(17)),
            (3, MONDAY + timedelta(31)),
        )
    ]
    response = nurse_client.post(url, {"choice": shown}, follow=True)
    assert "Booked doses 1, 2, 3" in response.content.decode()
    assert [b.local_date for b in Booking.objects.active().filter(dose__course=course)] == [
        MONDAY + timedelta(3),
        MONDAY + timedelta(17),
        MONDAY + timedelta(31),
    ]


def test_book_next_update_button_rechains_without_booking(unit, nurse, patient, nurse_client):
    course = make_course(patient)
    for day in range(0, 50):
        make_slot(unit, MONDAY + timedelta(days=day), places=4)
    url = reverse("schedules:book_next", args=[course.pk])
    thursday = Slot.objects.get(start=at(MONDAY + timedelta(days=3), 9))
    response = nurse_client.post(url, {"choice": [f"1:{thursday.pk}"], "update": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'value="1:{thursday.pk}" selected' in page
    assert "Thu 19 Mar 2026, 09:00" in page
    assert not Booking.objects.exists()


# The unit's target ----------------------------------------------------------------------------


def test_the_target_is_a_unit_setting_in_the_admin_from_1_to_100(client, admin_user, unit):
    assert unit.load_target_percent == 85
    client.force_login(admin_user)
    url = reverse("admin:schedules_unit_change", args=[unit.pk])
    assert "Daily load target (%)" in client.get(url).content.decode()
    for value in (0, 101):
        with pytest.raises(IntegrityError), transaction.atomic():
            Unit.objects.filter(pk=unit.pk).update(load_target_percent=value)
