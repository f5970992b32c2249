"""The capacity page as people and places (issue 19 item 6): per day and session places, beds,
operators, imaging, booked, due and utilisation; closed days never flagged; the month heat
map reads the same numbers; the measures; `capacity_forecast --json`; `day_loads`."""

import contextlib
import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from schedules import services
from schedules.models import Closure, SessionTemplate, Slot
from schedules.unit import loads as unit_loads
from tests.factories import (
    MONDAY,
    arrive_and_check,
    book,
    frozen,
    give,
    imaging_list,
    make_course,
    make_operator,
    make_patient,
    on_rota,
)

TUESDAY = MONDAY + timedelta(days=1)
LATER = MONDAY + timedelta(days=90)


@pytest.fixture
def resourced(unit):
    """Monday to Friday, three two-hour slots of two places from 09:00. Tuesday's session has
    one hour slots and three beds (so its six places are held to four visits over the day: 9
    and 10 share the beds, then 11), an imaging list, and one operator on the rota with the
    rota required (so each Tuesday slot takes one patient)."""
    SessionTemplate.objects.filter(unit=unit, weekday=1).update(slot_minutes=60, beds=3)
    unit.rota_required = True
    unit.save()
    with frozen(MONDAY, 7):
        services.generate_slots(unit=unit, weeks=2)
    tuesday = list(Slot.objects.on_day(unit, TUESDAY))
    on_rota(tuesday[0], make_operator("op1", until=LATER, guided=True))
    imaging_list(tuesday[0], places=2)
    return unit


def test_day_loads_count_each_resource_and_name_the_scarcest(resourced, nurse):
    with frozen(MONDAY, 7):
        slot = Slot.objects.on_day(resourced, TUESDAY).order_by("start").first()
        book(make_course(make_patient("H801"), start=TUESDAY), 1, slot, nurse)
        loads = unit_loads.day_loads(resourced, MONDAY, MONDAY + timedelta(days=6))
    tuesday = loads[TUESDAY]
    assert tuesday.places.capacity == 6
    # Beds, earliest first: 09:00 takes 2 (its places), 10:00 1 (the third bed), 11:00 2 once
    # the 09:00 pair has gone home (a visit holds its bed two hours).
    assert tuesday.beds.capacity == 5
    assert tuesday.operators.capacity == 3  # one operator, one patient per slot
    assert tuesday.imaging.capacity == 2
    assert tuesday.capacity == 3
    assert tuesday.booked == 1
    assert tuesday.scarcest == pytest.approx(1 / 3)
    assert tuesday.utilisation == 33
    # Monday: nobody on the rota, so nothing can be booked though six places exist.
    assert loads[MONDAY].places.capacity == 6
    assert loads[MONDAY].operators.capacity == 0
    assert loads[MONDAY].capacity == 0
    assert unit_loads.load_target(resourced) == 85


def test_capacity_page_shows_each_session_and_its_resources(resourced, nurse, client):
    with frozen(MONDAY, 7):
        client.force_login(nurse)
        page = client.get(reverse("schedules:capacity") + "?weeks=1").content.decode()
    assert "09:00 session (3 slots)" in page
    row = page[page.index('data-date="2026-03-03"') :]
    row = row[: row.index("</tbody>")]
    assert ">6</td>" in row  # places
    assert ">5</td>" in row  # beds (visits)
    assert ">3</td>" in row  # operators (visits)
    assert "0 of 2" in row  # imaging
    assert "Places" in page and "Beds" in page and "Operators" in page and "Imaging" in page


def test_control_a_closed_day_is_shown_closed_and_never_over_capacity(unit, nurse, client):
    """The known bug: a closed day with bookings (places 0, booked 2) said "Over by 2"."""
    with frozen(MONDAY, 7):
        services.generate_slots(unit=unit, weeks=2)
        friday = MONDAY + timedelta(days=4)
        slot = Slot.objects.on_day(unit, friday).first()
        for number in ("1", "2"):
            book(make_course(make_patient(f"H81{number}"), start=friday), 1, slot, nurse)
        Closure.objects.create(unit=unit, start_date=friday, end_date=friday, reason="Flood")
        client.force_login(nurse)
        page = client.get(reverse("schedules:capacity") + "?weeks=1").content.decode()
        out = StringIO()
        call_command("capacity_forecast", "--weeks", "1", "--json", stdout=out)
    row = page[page.index('data-date="2026-03-06"') :]
    row = row[: row.index("</tbody>")]
    assert "Closed: Flood — reschedule 2 bookings" in row
    assert "Over by" not in row
    assert "table-danger" not in row
    assert "2026-03-06" not in [day["date"] for day in json.loads(out.getvalue())]


def test_month_heat_map_reads_the_same_capacity(resourced, nurse, client):
    with frozen(MONDAY, 7):
        client.force_login(nurse)
        page = client.get(reverse("schedules:calendar")).content.decode()
        loads = unit_loads.day_loads(resourced, MONDAY, MONDAY + timedelta(days=6))
    assert loads[TUESDAY].capacity == 3
    assert "room for 3 (beds or operators)" in page


def test_capacity_forecast_json_adds_beds_operators_imaging_and_utilisation(resourced, nurse):
    out = StringIO()
    with frozen(MONDAY, 7):
        call_command("capacity_forecast", "--weeks", "1", "--json", stdout=out)
    rows = {row["date"]: row for row in json.loads(out.getvalue())}
    tuesday = rows["2026-03-03"]
    assert {"date", "places", "booked", "due_unbooked", "over_capacity"} <= set(tuesday)
    assert tuesday["beds"] == {"used": 0, "capacity": 5}
    assert tuesday["operators"] == {"used": 0, "capacity": 3}
    assert tuesday["imaging"] == {"used": 0, "capacity": 2}
    assert tuesday["utilisation"] == 0


def test_measures_on_the_page_notice_late_doses_and_days_on_target(unit, nurse, clinician, client):
    with frozen(date(2026, 1, 20), 7):  # dose 1 booked 13 days ahead
        services.generate_slots(unit=unit, weeks=7)
        course = make_course(make_patient("H821"), start=date(2026, 2, 2))
        first = book(course, 1, Slot.objects.on_day(unit, date(2026, 2, 2)).first(), nurse)
    with frozen(date(2026, 2, 2), 11):
        arrive_and_check(first, nurse)
        give(first, clinician)
    # Dose 2 due 16 Feb; booked on 20 Feb for 26 Feb (6 days' notice), 10 days late.
    late_day = date(2026, 2, 26)
    with frozen(date(2026, 2, 20), 7):
        second = book(
            course,
            2,
            Slot.objects.on_day(unit, late_day).first(),
            clinician,
            reason="Patient abroad",
        )
    with frozen(late_day, 11):
        arrive_and_check(second, nurse)
        give(second, clinician)
    with frozen(MONDAY, 7):
        client.force_login(nurse)
        page = client.get(reverse("schedules:capacity") + "?weeks=1").content.decode()
    notice = page[page.index('id="measure-notice"') :][:300]
    late = page[page.index('id="measure-late"') :][:300]
    target = page[page.index('id="measure-target"') :][:300]
    assert "median 9.5 days from booking to visit; 50% (1 of 2) booked under 7 days" in notice
    assert "1 of 1 after their window, by a median of 10 days after due" in late
    assert "of 5 open days) within ±10 points of the 85% target" in target


def test_capacity_page_queries_do_not_grow_with_patients(
    resourced, nurse, client, django_assert_max_num_queries
):
    def add_patients(prefix, count):
        slots = list(Slot.objects.between(resourced, MONDAY, MONDAY + timedelta(days=13)))
        for index in range(count):
            slot = slots[index % len(slots)]
            day = slot.local_date
            course = make_course(make_patient(f"{prefix}{index:04d}"), start=day)
            with contextlib.suppress(services.BookingError):  # full: the dose stays due
                book(course, 1, slot, nurse)

    with frozen(MONDAY, 7):
        client.force_login(nurse)
        url = reverse("schedules:capacity") + "?weeks=2"
        add_patients("Q", 5)
        client.get(url)
        with django_assert_max_num_queries(40) as few:
            client.get(url)
        add_patients("R", 60)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get(url).status_code == 200


def test_a_one_off_slot_adds_its_places_to_a_day_whose_session_counts_beds(resourced):
    from tests.factories import make_slot

    with frozen(MONDAY, 7):
        make_slot(resourced, TUESDAY, hour=15, places=2)
        tuesday = unit_loads.day_loads(resourced, TUESDAY, TUESDAY)[TUESDAY]
    assert tuesday.places.capacity == 8
    assert tuesday.beds.capacity == 5 + 2  # the session's beds, then the extra slot's places
    assert tuesday.operators.capacity == 3 + 2  # an extra slot has no rota: its places
    assert [s.label for s in tuesday.sessions] == ["09:00 session (3 slots)", "15:00 extra slot"]
