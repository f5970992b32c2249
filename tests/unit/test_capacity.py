"""Demand and capacity ahead (issue 8): the forecast's numbers against a week counted by hand."""

import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from schedules import outlook, planning, services
from schedules.models import Slot
from schedules.unit.loads import day_loads
from tests.factories import at, frozen, make_course, make_patient

MONDAY = date(2026, 3, 2)


@pytest.fixture
def hand_counted_week(unit, nurse, clinician):
    """Six places a day (three slots of two), Monday to Friday. By hand, for 2–9 March:

    Mon 2: 1 booked (B); due, not booked: A (due today) and D (overdue since 23 Feb) = 2.
    Wed 4: E due = 1.   Thu 5: seven patients start = 7, over the 6 places.
    Mon 9: C, due Saturday 7 (closed), lands on the next open day in its window = 1.
    A paused course counts nowhere.
    """
    with frozen(MONDAY, 8):
        services.generate_slots(unit=unit, weeks=2)
        make_course(make_patient("A"), start=MONDAY)
        booked = make_course(make_patient("B"), start=MONDAY)
        services.book_dose_number(
            course=booked, number=1, slot=Slot.objects.on_day(unit, MONDAY)[0], booked_by=nurse
        )
        make_course(make_patient("C"), start=MONDAY + timedelta(days=5))
        late = make_course(make_patient("D"), start=date(2026, 2, 9))
        late.doses.create(number=1, given_at=at(date(2026, 2, 9), 10))
        outlook.refresh_next_due(late)  # a fact written directly, not by a service
        make_course(make_patient("E"), start=MONDAY + timedelta(days=2))
        for index in range(7):
            make_course(make_patient(f"T{index}"), start=MONDAY + timedelta(days=3))
        paused = make_course(make_patient("F"), start=MONDAY + timedelta(days=1))
        services.pause_course(
            course=paused, on=MONDAY, reason="other", reason_detail="Trip", recorded_by=clinician
        )
        yield unit


def test_forecast_matches_the_hand_count(hand_counted_week):
    with frozen(MONDAY, 8):
        days = day_loads(hand_counted_week, MONDAY, MONDAY + timedelta(days=7)).values()
    table = {d.date: (d.places.capacity, d.booked, d.due_unbooked, d.over_capacity) for d in days}
    assert table == {
        MONDAY: (6, 1, 2, False),
        MONDAY + timedelta(days=1): (6, 0, 0, False),
        MONDAY + timedelta(days=2): (6, 0, 1, False),
        MONDAY + timedelta(days=3): (6, 0, 7, True),
        MONDAY + timedelta(days=4): (6, 0, 0, False),
        MONDAY + timedelta(days=7): (6, 0, 1, False),
    }


def test_capacity_forecast_command_json_rows(hand_counted_week):
    out = StringIO()
    with frozen(MONDAY, 8):
        call_command("capacity_forecast", "--weeks", "1", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert rows[0] == {
        "date": "2026-03-02",
        "places": 6,
        "booked": 1,
        "due_unbooked": 2,
        "over_capacity": False,
        # Issue 19: no beds set and no rota required, so neither is counted; no imaging list.
        "beds": None,
        "operators": None,
        "imaging": {"used": 0, "capacity": 0},
        "utilisation": 17,  # 1 booked of 6 places
    }
    assert [row["date"] for row in rows if row["over_capacity"]] == ["2026-03-05"]
    assert len(rows) == 5


def test_capacity_page_answers_how_many_can_start(hand_counted_week, client, nurse):
    with frozen(MONDAY, 8):
        client.force_login(nurse)
        page = client.get(reverse("schedules:capacity") + "?weeks=2").content.decode()
    assert 'id="capacity-caption"' in page
    assert "more patient(s) can start" in page
    assert "Over by 1" in page  # Thursday 5 March: 7 due for 6 places


def test_start_capacity_is_spare_places_over_three_loading_visits(unit, clock):
    clock(MONDAY, 8)
    services.generate_slots(unit=unit, weeks=10)
    answer = planning.start_capacity(unit)
    assert (answer.first, answer.last) == (date(2026, 4, 1), date(2026, 4, 30))
    # April 2026: 22 weekdays less Good Friday and Easter Monday = 20 open days × 6 places.
    assert (answer.places, answer.booked, answer.due_unbooked) == (120, 0, 0)
    assert answer.patients == 40


@pytest.mark.parametrize("weeks", ["0", "27", "many"])
def test_capacity_forecast_refuses_a_silly_range(unit, weeks):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 to 26"):
        call_command("capacity_forecast", "--weeks", weeks, stdout=StringIO())
