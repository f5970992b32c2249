"""Slots from the session templates: idempotent, closures and bank holidays skipped, booked
slots never deleted, 09:00 stays 09:00 across the clock changes."""

from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from schedules import planning, services
from schedules.models import Booking, Closure, SessionTemplate, Slot
from tests.factories import LONDON, frozen, make_course, make_patient

MONDAY = date(2026, 3, 2)


def local_times(unit, day):
    return [
        timezone.localtime(slot.start, LONDON).strftime("%H:%M")
        for slot in Slot.objects.on_day(unit, day)
    ]


@pytest.fixture
def frozen_monday():
    with frozen(MONDAY, 7):
        yield


def test_generates_the_templates_slots(unit, frozen_monday):
    report = services.generate_slots(unit=unit, weeks=1)
    # Monday to Friday, three 2-hour slots from 09:00.
    assert report.created == 15
    assert local_times(unit, MONDAY) == ["09:00", "11:00", "13:00"]
    assert not Slot.objects.on_day(unit, MONDAY + timedelta(days=5)).exists()  # Saturday
    slot = Slot.objects.first()
    assert slot.places == 2
    assert slot.end - slot.start == timedelta(hours=2)


def test_is_idempotent(unit, frozen_monday):
    services.generate_slots(unit=unit, weeks=2)
    again = services.generate_slots(unit=unit, weeks=2)
    assert (again.created, again.updated, again.removed, again.withdrawn) == (0, 0, 0, 0)
    assert Slot.objects.count() == 30


def test_default_horizon_is_the_units(unit, frozen_monday):
    services.generate_slots(unit=unit)
    last = Slot.objects.order_by("-start").first()
    assert last.local_date < MONDAY + timedelta(weeks=unit.horizon_weeks)
    assert last.local_date >= MONDAY + timedelta(weeks=unit.horizon_weeks) - timedelta(days=7)


def test_skips_closures_and_bank_holidays(unit):
    easter_monday = date(2026, 4, 6)
    with frozen(date(2026, 3, 30), 7):
        Closure.objects.create(
            unit=unit, start_date=date(2026, 3, 31), end_date=date(2026, 4, 1), reason="Training"
        )
        services.generate_slots(unit=unit, weeks=2)
    assert not Slot.objects.on_day(unit, date(2026, 3, 31)).exists()
    assert not Slot.objects.on_day(unit, date(2026, 4, 1)).exists()
    assert not Slot.objects.on_day(unit, date(2026, 4, 3)).exists()  # Good Friday
    assert not Slot.objects.on_day(unit, easter_monday).exists()
    assert Slot.objects.on_day(unit, date(2026, 4, 2)).count() == 3


def test_unit_open_on_bank_holidays_gets_slots(unit):
    unit.closed_on_bank_holidays = False
    unit.save()
    with frozen(date(2026, 4, 6), 7):
        services.generate_slots(unit=unit, weeks=1)
    assert Slot.objects.on_day(unit, date(2026, 4, 6)).count() == 3


@pytest.mark.parametrize(
    "week_of_change",
    [date(2026, 3, 23), date(2026, 10, 19)],  # clocks change on 29 March and 25 October
    ids=["march", "october"],
)
def test_nine_oclock_stays_nine_oclock_across_clock_changes(unit, week_of_change):
    with frozen(week_of_change, 7):
        services.generate_slots(unit=unit, weeks=2)
        again = services.generate_slots(unit=unit, weeks=2)
    assert (again.created, again.updated, again.removed) == (0, 0, 0), "idempotent across it"
    before, after = week_of_change, week_of_change + timedelta(days=7)
    assert local_times(unit, before) == ["09:00", "11:00", "13:00"]
    assert local_times(unit, after) == ["09:00", "11:00", "13:00"]
    utc_hours = {
        Slot.objects.on_day(unit, day).first().start.astimezone(UTC).hour for day in (before, after)
    }
    assert utc_hours == {8, 9}, "the UTC time moves so the local time does not"


def test_closure_never_deletes_a_booked_slot_and_reports_it(unit, nurse, patient, frozen_monday):
    services.generate_slots(unit=unit, weeks=1)
    tuesday = MONDAY + timedelta(days=1)
    slot = Slot.objects.on_day(unit, tuesday).first()
    course = make_course(patient, start=tuesday)
    booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    Closure.objects.create(unit=unit, start_date=tuesday, end_date=tuesday, reason="Staff")

    report = services.generate_slots(unit=unit, weeks=1)

    assert report.affected == [booking]
    assert report.removed == 2  # the empty slots that day
    slot.refresh_from_db()
    assert slot.places == 1, "withdrawn: nobody else can be booked into it"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED, "never cancelled or moved silently"


def test_template_change_updates_places_and_reports_overbooked(unit, nurse, frozen_monday):
    services.generate_slots(unit=unit, weeks=1)
    slot = Slot.objects.on_day(unit, MONDAY).get(start__hour=9)
    bookings = [
        services.book_dose_number(
            course=make_course(make_patient(f"H70{i}")), number=1, slot=slot, booked_by=nurse
        )
        for i in range(2)
    ]
    SessionTemplate.objects.filter(unit=unit).update(places=1)

    report = services.generate_slots(unit=unit, weeks=1)

    assert report.updated == 15
    assert sorted(b.pk for b in report.affected) == sorted(b.pk for b in bookings)
    assert Booking.objects.active().count() == 2


def test_removed_template_deletes_empty_slots_only(unit, nurse, patient, frozen_monday):
    services.generate_slots(unit=unit, weeks=1)
    SessionTemplate.objects.filter(unit=unit, weekday=0).update(active=False)
    report = services.generate_slots(unit=unit, weeks=1)
    assert report.removed == 3
    assert not Slot.objects.on_day(unit, MONDAY).exists()


def test_one_off_extra_session_is_left_alone(unit, frozen_monday):
    saturday = MONDAY + timedelta(days=5)
    start = datetime.combine(saturday, time(10), tzinfo=LONDON)
    Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=1)
    services.generate_slots(unit=unit, weeks=1)
    assert Slot.objects.on_day(unit, saturday).count() == 1


def test_one_off_extra_session_opens_its_day_for_overdue_doses(unit, frozen_monday):
    """An overdue dose is projected for the next open day: a Saturday extra clinic counts."""
    saturday = MONDAY + timedelta(days=5)
    start = datetime.combine(saturday, time(10), tzinfo=LONDON)
    Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=1)
    Closure.objects.create(
        unit=unit, start_date=MONDAY, end_date=MONDAY + timedelta(days=4), reason="Ward move"
    )

    calendar = unit.calendar(MONDAY, MONDAY + timedelta(days=14))

    open_days = [
        day for day in (MONDAY + timedelta(days=n) for n in range(8)) if calendar.is_open(day)
    ]
    assert open_days == [saturday, MONDAY + timedelta(days=7)]


def test_never_rewrites_the_past(unit):
    with frozen(MONDAY, 10):  # the 09:00 slot has started
        services.generate_slots(unit=unit, weeks=1)
        services.generate_slots(unit=unit, weeks=1)
    assert local_times(unit, MONDAY) == ["11:00", "13:00"]


def test_bad_number_of_weeks_is_refused(unit, frozen_monday):
    with pytest.raises(services.ServiceError, match="between 1 and"):
        services.generate_slots(unit=unit, weeks=0)
    assert not Slot.objects.exists()


def test_command_generates_and_lists_bookings_to_rebook(unit, nurse, patient, frozen_monday):
    out, err = StringIO(), StringIO()
    call_command("generate_slots", "--weeks", "1", stdout=out, stderr=err)
    assert "15 slots created" in out.getvalue()
    slot = Slot.objects.on_day(unit, MONDAY).first()
    services.book_dose_number(course=make_course(patient), number=1, slot=slot, booked_by=nurse)
    Closure.objects.create(unit=unit, start_date=MONDAY, end_date=MONDAY, reason="Flood")
    call_command("generate_slots", "--weeks", "1", stdout=out, stderr=err)
    assert "Rebook:" in err.getvalue()
    assert patient.hospital_number in err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-02-30"], "not a real date"),
        (["--start", "tomorrow"], "YYYY-MM-DD"),
        (["--start", "2020-01-01"], "past"),
        (["--weeks", "0"], "between 1 and"),
        (["--unit", "999"], "No unit"),
    ],
)
def test_command_bad_input(unit, frozen_monday, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_slots", *args, stdout=StringIO())
    assert not Slot.objects.exists()


def test_free_slots_skip_full_and_newly_closed_days(unit, nurse, frozen_monday):
    services.generate_slots(unit=unit, weeks=1)
    tuesday = MONDAY + timedelta(days=1)
    Closure.objects.create(unit=unit, start_date=tuesday, end_date=tuesday, reason="Staff")
    calendar = unit.calendar(MONDAY, MONDAY + timedelta(days=6))
    free = planning.FreeSlots(
        unit=unit, calendar=calendar, first=MONDAY, last=MONDAY + timedelta(days=6)
    )
    days = {slot.local_date for slot in free.slots}
    assert tuesday not in days
    assert MONDAY in days


def test_slot_of_a_session_no_longer_run_is_neither_offered_nor_bookable(
    unit, nurse, patient, frozen_monday
):
    services.generate_slots(unit=unit, weeks=1)
    slot = Slot.objects.on_day(unit, MONDAY).first()
    SessionTemplate.objects.filter(unit=unit, weekday=0).update(active=False)
    calendar = unit.calendar(MONDAY, MONDAY)
    free = planning.FreeSlots(unit=unit, calendar=calendar, first=MONDAY, last=MONDAY)
    assert free.slots == []
    with pytest.raises(services.SlotUnavailable, match="no longer offered"):
        services.book_dose_number(course=make_course(patient), number=1, slot=slot, booked_by=nurse)
