""" "Book the year ahead" (issue 19 item 3): a maintenance patient's next twelve months,
levelled across days and chained through the engine (each dose counted from the one booked
before it, DESIGN §2), previewed, then booked all or nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse

from schedules import planning, services
from schedules.models import Booking, Dose, Slot, TreatmentCourse
from schedules.planning.facts import course_queryset
from tests.factories import (
    PREVIEW_OFFSETS,
    PREVIEW_START,
    at,
    frozen,
    make_course,
    make_patient,
    make_slot,
)
from tests.support.threads import race

TODAY = PREVIEW_START + timedelta(days=PREVIEW_OFFSETS[-1] + 1)  # the day after dose 6
YEAR = 13


def maintenance_course(patient):
    """Doses 1–6 given on their due days; dose 7 is the next, due 28 days after dose 6."""
    course = TreatmentCourse.objects.create(patient=patient, start_date=PREVIEW_START)
    for number, offset in enumerate(PREVIEW_OFFSETS, start=1):
        Dose.objects.create(
            course=course, number=number, given_at=at(PREVIEW_START + timedelta(days=offset), 10)
        )
    return course


def weekday_slots(unit, days=400, places=2):
    day = TODAY
    for _ in range(days):
        if day.weekday() < 5:
            make_slot(unit, day, places=places)
        day += timedelta(days=1)


@pytest.fixture
def year(unit, patient):
    with frozen(TODAY, 7):
        weekday_slots(unit)
        course = maintenance_course(patient)
        yield course


def chain(course, unit):
    return planning.suggest_slots(course=course_queryset().get(pk=course.pk), unit=unit, count=YEAR)


def test_year_ahead_preview_is_thirteen_doses_each_inside_its_chained_window(
    year, unit, nurse_client
):
    suggestions = chain(year, unit)
    assert [s.planned.number for s in suggestions] == list(range(7, 20))
    for before, after in zip(suggestions, suggestions[1:], strict=False):
        # Each window counted from the day suggested for the dose before (EU SmPC 4.2).
        assert after.planned.due == before.slot.local_date + timedelta(days=28)
    for s in suggestions:
        assert s.planned.window_start <= s.slot.local_date <= s.planned.window_end
    page = nurse_client.get(reverse("schedules:book_next", args=[year.pk]) + "?year=1")
    text = page.content.decode()
    assert "Book the year ahead for Ada Lovelace" in text
    assert "Book 13 doses" in text
    assert text.count('class="book-next-row"') == YEAR


def test_year_ahead_books_all_thirteen_in_one_click(year, unit, nurse_client):
    with frozen(TODAY, 7):
        choices = [f"{s.planned.number}:{s.slot.pk}" for s in chain(year, unit)]
        response = nurse_client.post(
            reverse("schedules:book_next", args=[year.pk]),
            {"choice": choices, "year": "1"},
            follow=True,
        )
    assert "Booked doses 7, 8, 9" in response.content.decode()
    assert Booking.objects.active().filter(dose__course=year).count() == YEAR


def test_year_ahead_books_nothing_when_one_slot_was_taken_meanwhile(year, unit, nurse):
    with frozen(TODAY, 7):
        suggestions = chain(year, unit)
        taken = suggestions[9].slot
        for index in range(taken.places):
            other = make_course(make_patient(f"T{index}"), start=taken.local_date)
            services.book_dose_number(course=other, number=1, slot=taken, booked_by=nurse)
        with pytest.raises(services.SlotFull, match="Dose 16: .*Nothing was booked"):
            services.book_next_doses(
                course=year,
                choices=[(s.planned.number, s.slot) for s in suggestions],
                booked_by=nurse,
            )
    assert not Booking.objects.filter(dose__course=year).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_year_ahead_against_a_concurrent_booking_is_all_or_nothing(unit, nurse):
    """A year ahead and another patient race for the last place of one of its slots: either
    the year is booked whole and the other refused, or the other wins and the year books
    nothing (one transaction, the lock order of DESIGN §3: course, then slots by id)."""
    with frozen(TODAY, 7):
        weekday_slots(unit, places=1)
        course = maintenance_course(make_patient("Y1"))
        suggestions = chain(course, unit)
        contested = suggestions[6].slot
        rival = make_course(make_patient("Y2"), start=contested.local_date)
        choices = [(s.planned.number, s.slot) for s in suggestions]
        results = race(
            [
                lambda: services.book_next_doses(course=course, choices=choices, booked_by=nurse),
                lambda: services.book_dose_number(
                    course=rival, number=1, slot=contested, booked_by=nurse
                ),
            ]
        )
    year_result, rival_result = results
    booked = Booking.objects.active().filter(dose__course=course).count()
    if isinstance(year_result, list):
        assert booked == YEAR
        assert isinstance(rival_result, services.SlotFull), results
    else:
        assert isinstance(year_result, services.SlotFull), results
        assert booked == 0
        assert isinstance(rival_result, Booking)
    assert Booking.objects.active().filter(slot=contested).count() == 1
    assert Slot.objects.count() > 0
