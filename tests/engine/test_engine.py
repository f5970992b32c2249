"""The dose-date engine against the label regimen (US PI §2.1 / EU SmPC 4.2) and unit policy.

Pure tests: no database, no Django. Days are written as offsets from a course start so each
case reads like the label: 0 / 14 / 28 loading, then every 28 days from the last dose given.
"""

import json
import time
from datetime import date, datetime, timedelta
from itertools import pairwise

import holidays
import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from schedules.engine import (
    LOADING_DOSE_COUNT,
    LOADING_INTERVAL_DAYS,
    MAINTENANCE_INTERVAL_DAYS,
    CourseEvent,
    DoseState,
    EventKind,
    Phase,
    PlannedDose,
    Policy,
    ScheduleError,
    check_booking_order,
    plan,
)

START = date(2026, 1, 5)  # a Monday
L, M = Phase.LOADING, Phase.MAINTENANCE
GIVEN, BOOKED, DUE = DoseState.GIVEN, DoseState.BOOKED, DoseState.DUE
OVERDUE, PLANNED = DoseState.OVERDUE, DoseState.PLANNED


def day(offset: int) -> date:
    return START + timedelta(days=offset)


def days(mapping: dict[int, int]) -> dict[int, date]:
    """{dose number: day offset} -> {dose number: date}."""
    return {number: day(offset) for number, offset in mapping.items()}


def pause(offset: int) -> CourseEvent:
    return CourseEvent(EventKind.PAUSE, day(offset))


def resume(offset: int, restart_loading: bool = False) -> CourseEvent:
    return CourseEvent(EventKind.RESUME, day(offset), restart_loading=restart_loading)


def stop(offset: int) -> CourseEvent:
    return CourseEvent(EventKind.STOP, day(offset))


def rows(doses: list[PlannedDose]) -> list[tuple]:
    """(number, phase, due offset, state, date offset) for each dose, to compare with a table."""
    return [
        (dose.number, dose.phase, (dose.due - START).days, dose.state, (dose.date - START).days)
        for dose in doses
    ]


def interval_before(number: int) -> int:
    """Days from dose number - 1 to dose number in a course without a restart."""
    return LOADING_INTERVAL_DAYS if number <= LOADING_DOSE_COUNT else MAINTENANCE_INTERVAL_DAYS


england = holidays.country_holidays("GB", subdiv="ENG")


def unit_open(on: date) -> bool:
    """A weekday day-care unit, closed on England's bank holidays."""
    return on.weekday() < 5 and on not in england


# Each case: the history, today (as an offset) and the first rows of the plan it must give.
SCENARIOS = [
    pytest.param(
        {},
        {},
        [],
        0,
        [
            (1, L, 0, DUE, 0),
            (2, L, 14, PLANNED, 14),
            (3, L, 28, PLANNED, 28),
            (4, M, 56, PLANNED, 56),
            (5, M, 84, PLANNED, 84),
            (6, M, 112, PLANNED, 112),
        ],
        id="on-time course from day 0: 0/14/28 then every 28 days",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [],
        60,
        [
            (1, L, 0, GIVEN, 0),
            (2, L, 14, GIVEN, 14),
            (3, L, 28, GIVEN, 28),
            (4, M, 56, GIVEN, 56),
            (5, M, 84, DUE, 84),
            (6, M, 112, PLANNED, 112),
        ],
        id="all given on time",
    ),
    pytest.param(
        {1: 0, 2: 20},
        {},
        [],
        21,
        [
            (1, L, 0, GIVEN, 0),
            (2, L, 14, GIVEN, 20),
            (3, L, 34, DUE, 34),
            (4, M, 62, PLANNED, 62),
        ],
        id="late 2nd loading dose: 3rd follows 14 days after it",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 35},
        {},
        [],
        36,
        [(3, L, 28, GIVEN, 35), (4, M, 63, DUE, 63), (5, M, 91, PLANNED, 91)],
        id="late 3rd loading dose: 1st maintenance 28 days after it",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 66},
        {},
        [],
        70,
        [(4, M, 56, GIVEN, 66), (5, M, 94, DUE, 94), (6, M, 122, PLANNED, 122)],
        id="late maintenance dose: later doses every 28 days from it",
    ),
    pytest.param(
        {1: 0, 2: 12},
        {},
        [],
        13,
        [(2, L, 14, GIVEN, 12), (3, L, 26, DUE, 26), (4, M, 54, PLANNED, 54)],
        id="early given dose re-anchors the next",
    ),
    pytest.param(
        {1: 0},
        {},
        [],
        20,
        [
            (1, L, 0, GIVEN, 0),
            (2, L, 14, OVERDUE, 20),
            (3, L, 34, PLANNED, 34),
            (4, M, 62, PLANNED, 62),
        ],
        id="overdue unbooked dose projected to today and the chain after it",
    ),
    pytest.param(
        {},
        {},
        [],
        3,
        [(1, L, 0, OVERDUE, 3), (2, L, 17, PLANNED, 17)],
        id="first dose itself overdue",
    ),
    pytest.param(
        {1: 0},
        {2: 16},
        [],
        1,
        [
            (1, L, 0, GIVEN, 0),
            (2, L, 14, BOOKED, 16),
            (3, L, 30, DUE, 30),
            (4, M, 58, PLANNED, 58),
        ],
        id="booked but not given: chain from the booked date",
    ),
    pytest.param(
        {1: 0},
        {2: 14, 3: 29},
        [],
        1,
        [(2, L, 14, BOOKED, 14), (3, L, 28, BOOKED, 29), (4, M, 57, DUE, 57)],
        id="two doses booked ahead",
    ),
    pytest.param(
        {1: 0},
        {2: 14},
        [],
        20,
        [(2, L, 14, BOOKED, 14), (3, L, 28, DUE, 28)],
        id="booked dose in the past is still booked",
    ),
    pytest.param(
        {1: 0},
        {2: 14},
        [],
        40,
        [(2, L, 14, BOOKED, 14), (3, L, 28, OVERDUE, 40), (4, M, 68, PLANNED, 68)],
        id="past booking then the next dose overdue",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28},
        {4: 56},
        [pause(40)],
        45,
        [(1, L, 0, GIVEN, 0), (2, L, 14, GIVEN, 14), (3, L, 28, GIVEN, 28)],
        id="pause: only given doses, stale bookings ignored",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(60), resume(70)],
        70,
        [(4, M, 56, GIVEN, 56), (5, M, 84, DUE, 84), (6, M, 112, PLANNED, 112)],
        id="short pause then resume: the next dose is not brought forward",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(60), resume(120)],
        130,
        [(4, M, 56, GIVEN, 56), (5, M, 120, OVERDUE, 130), (6, M, 158, PLANNED, 158)],
        id="long pause then resume: due on the resume date, overdue projected to today",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(60), resume(150)],
        150,
        [(4, M, 56, GIVEN, 56), (5, M, 150, DUE, 150), (6, M, 178, PLANNED, 178)],
        id="long pause then resume today",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(60), resume(150, restart_loading=True)],
        150,
        [
            (4, M, 56, GIVEN, 56),
            (5, L, 150, DUE, 150),
            (6, L, 164, PLANNED, 164),
            (7, L, 178, PLANNED, 178),
            (8, M, 206, PLANNED, 206),
            (9, M, 234, PLANNED, 234),
        ],
        id="restart loading: 3 loading doses 14 days apart, then every 28 days",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(58), resume(62, restart_loading=True)],
        62,
        [(4, M, 56, GIVEN, 56), (5, L, 70, DUE, 70), (6, L, 84, PLANNED, 84)],
        id="restart loading after a short pause: never sooner than 14 days after the last",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56, 5: 150, 6: 166},
        {},
        [pause(60), resume(150, restart_loading=True)],
        170,
        [
            (5, L, 150, GIVEN, 150),
            (6, L, 164, GIVEN, 166),
            (7, L, 180, DUE, 180),
            (8, M, 208, PLANNED, 208),
        ],
        id="restarted loading series with doses given in it",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56, 5: 90},
        {},
        [pause(60), resume(80), pause(100), resume(200)],
        200,
        [(5, M, 84, GIVEN, 90), (6, M, 200, DUE, 200), (7, M, 228, PLANNED, 228)],
        id="two pause/resume cycles",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(60), resume(70), pause(75), resume(100)],
        100,
        [(4, M, 56, GIVEN, 56), (5, M, 100, DUE, 100)],
        id="two cycles with no dose between them: the later resume counts",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56, 5: 70},
        {},
        [pause(60), resume(150)],
        150,
        [(5, M, 84, GIVEN, 70), (6, M, 150, DUE, 150), (7, M, 178, PLANNED, 178)],
        id="a dose given during a pause is still a fact",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56, 5: 70},
        {},
        [pause(60)],
        150,
        [(4, M, 56, GIVEN, 56), (5, M, 84, GIVEN, 70)],
        id="a dose given during a pause that has not ended",
    ),
    pytest.param(
        {},
        {},
        [pause(0), resume(30)],
        30,
        [(1, L, 30, DUE, 30), (2, L, 44, PLANNED, 44)],
        id="paused before the first dose",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28, 4: 56},
        {},
        [pause(60), resume(60)],
        60,
        [(5, M, 84, DUE, 84)],
        id="pause and resume on the same day",
    ),
    pytest.param(
        {1: 0, 2: 14},
        {3: 28},
        [stop(20)],
        30,
        [(1, L, 0, GIVEN, 0), (2, L, 14, GIVEN, 14)],
        id="stop: only given doses, nothing projected",
    ),
    pytest.param(
        {1: 0, 2: 14, 3: 28},
        {},
        [pause(30), stop(40)],
        100,
        [(1, L, 0, GIVEN, 0), (2, L, 14, GIVEN, 14), (3, L, 28, GIVEN, 28)],
        id="stop while paused",
    ),
]


@pytest.mark.parametrize(("given", "booked", "events", "today", "expected"), SCENARIOS)
def test_scenario(given, booked, events, today, expected):
    doses = plan(
        start=START, today=day(today), given=days(given), booked=days(booked), events=events
    )

    actual = rows(doses)
    first = expected[0][0]
    assert actual[first - 1 : first - 1 + len(expected)] == expected


@pytest.mark.parametrize(
    ("given", "events"),
    [
        pytest.param({1: 0, 2: 14, 3: 28}, [pause(40)], id="paused"),
        pytest.param({1: 0, 2: 14}, [stop(20)], id="stopped"),
        pytest.param({}, [stop(0)], id="stopped before any dose"),
    ],
)
def test_paused_or_stopped_course_lists_exactly_the_given_doses(given, events):
    doses = plan(start=START, today=day(300), given=days(given), events=events, count=50)

    assert [dose.number for dose in doses] == sorted(given)
    assert all(dose.state is GIVEN for dose in doses)


def test_only_the_first_pending_dose_is_due_or_overdue():
    doses = plan(start=START, today=day(500), given=days({1: 0}), count=20)

    states = [dose.state for dose in doses]
    assert states[:2] == [GIVEN, OVERDUE]
    assert set(states[2:]) == {PLANNED}


def test_numbers_keep_increasing_after_a_restart():
    doses = plan(
        start=START,
        today=day(300),
        given=days({1: 0, 2: 14, 3: 28, 4: 56}),
        events=[pause(60), resume(300, restart_loading=True)],
        count=10,
    )

    assert [dose.number for dose in doses] == list(range(1, 11))
    assert [dose.phase for dose in doses] == [L, L, L, M, L, L, L, M, M, M]


def test_events_are_sorted_by_date_and_same_day_order_is_kept():
    history = dict(start=START, today=day(100), given=days({1: 0, 2: 14, 3: 28}))
    shuffled = plan(**history, events=[resume(90), pause(40)])
    in_order = plan(**history, events=[pause(40), resume(90)])
    assert shuffled == in_order

    # Resumed and paused again on the same day, in that order: the course is paused.
    paused = plan(**history, events=[pause(40), resume(90), pause(90)])
    assert [dose.state for dose in paused] == [GIVEN, GIVEN, GIVEN]


def test_plain_strings_work_as_event_kinds():
    events = [CourseEvent("pause", day(40)), CourseEvent("resume", day(90))]
    typed = [pause(40), resume(90)]
    history = dict(start=START, today=day(100), given=days({1: 0, 2: 14, 3: 28}))

    assert plan(**history, events=events) == plan(**history, events=typed)


# --- As soon as possible: the next day the unit is open ------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(date(2026, 1, 9), date(2026, 1, 9), id="open Friday: today"),
        pytest.param(date(2026, 1, 10), date(2026, 1, 12), id="Saturday: Monday"),
        pytest.param(date(2026, 1, 11), date(2026, 1, 12), id="Sunday: Monday"),
        pytest.param(
            date(2026, 12, 25), date(2026, 12, 29), id="Christmas 2026: Tuesday after Boxing Day"
        ),
        pytest.param(
            date(2027, 12, 25), date(2027, 12, 29), id="Christmas 2027: two substitute days"
        ),
        pytest.param(date(2026, 4, 3), date(2026, 4, 7), id="Good Friday to Easter Tuesday"),
    ],
)
def test_overdue_dose_is_projected_to_the_next_open_day(today, expected):
    start = today - timedelta(days=100)
    doses = plan(start=start, today=today, given={1: start}, is_open=unit_open, count=4)

    overdue = doses[1]
    assert overdue.state is OVERDUE
    assert overdue.due == start + timedelta(days=14)
    assert overdue.date == expected
    assert doses[2].due == expected + timedelta(days=LOADING_INTERVAL_DAYS)


def test_due_dose_is_not_moved_to_an_open_day():
    # Dose 2 falls due on Easter Monday 2026; it is not overdue, so it stays on its due date.
    start = date(2026, 3, 23)
    doses = plan(start=start, today=start, given={1: start}, is_open=unit_open, count=4)

    assert (doses[1].state, doses[1].due, doses[1].date) == (
        DUE,
        date(2026, 4, 6),
        date(2026, 4, 6),
    )
    assert [dose.date for dose in doses] == [dose.due for dose in doses]


def test_unit_never_open_falls_back_to_today():
    doses = plan(start=START, today=day(50), is_open=lambda on: False, count=2)

    assert (doses[0].state, doses[0].date) == (OVERDUE, day(50))


# --- Calendar edge cases: 29 February and the clock changes --------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(
            date(2028, 2, 29),
            [date(2028, 2, 29), date(2028, 3, 14), date(2028, 3, 28), date(2028, 4, 25)],
            id="start on 29 February 2028",
        ),
        pytest.param(
            date(2028, 2, 1),
            [date(2028, 2, 1), date(2028, 2, 15), date(2028, 2, 29), date(2028, 3, 28)],
            id="3rd loading dose on 29 February 2028",
        ),
        pytest.param(
            date(2028, 1, 18),
            [date(2028, 1, 18), date(2028, 2, 1), date(2028, 2, 15), date(2028, 3, 14)],
            id="maintenance interval across 29 February 2028",
        ),
        pytest.param(
            date(2027, 1, 19),
            [date(2027, 1, 19), date(2027, 2, 2), date(2027, 2, 16), date(2027, 3, 16)],
            id="same course in a non-leap year",
        ),
    ],
)
def test_29_february(start, expected):
    doses = plan(start=start, today=start, count=4)

    assert [dose.due for dose in doses] == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(
            date(2026, 3, 2),
            [date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 30), date(2026, 4, 27)],
            id="March 2026 clock change (Sunday 29th) inside the 3rd loading interval",
        ),
        pytest.param(
            date(2026, 9, 14),
            [date(2026, 9, 14), date(2026, 9, 28), date(2026, 10, 12), date(2026, 11, 9)],
            id="October 2026 clock change (Sunday 25th) inside a maintenance interval",
        ),
        pytest.param(
            date(2026, 3, 1),
            [date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 29), date(2026, 4, 26)],
            id="dose due on the March clock-change Sunday itself",
        ),
        pytest.param(
            date(2026, 9, 27),
            [date(2026, 9, 27), date(2026, 10, 11), date(2026, 10, 25), date(2026, 11, 22)],
            id="dose due on the October clock-change Sunday itself",
        ),
    ],
)
def test_clock_change_weeks_keep_the_weekday(start, expected):
    doses = plan(start=start, today=start, count=6)

    assert [dose.due for dose in doses[:4]] == expected
    assert {dose.due.weekday() for dose in doses} == {start.weekday()}


# --- Horizon and speed --------------------------------------------------------------------


def test_ten_year_horizon():
    until = date(2036, 1, 5)
    doses = plan(start=START, today=START, until=until)

    assert len(doses) >= 130
    maintenance = [dose.due for dose in doses if dose.phase is M]
    gaps = {(later - earlier).days for earlier, later in pairwise(maintenance)}
    assert gaps == {MAINTENANCE_INTERVAL_DAYS}
    last = doses[-1]
    assert last.due == START + timedelta(days=28 + 28 * (last.number - 3))
    assert last.date <= until < last.date + timedelta(days=28)
    assert [dose.number for dose in doses] == list(range(1, len(doses) + 1))


def test_ten_years_of_history_plans_quickly():
    given = {1: START}
    for number in range(2, 131):
        given[number] = given[number - 1] + timedelta(days=interval_before(number) + 1)
    history = dict(start=START, today=given[130], given=given, count=143)

    elapsed = min(_timed(lambda: plan(**history)) for _ in range(5))

    assert len(plan(**history)) == 143
    assert elapsed < 143 * 0.0002  # well under a millisecond per dose


def _timed(function) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


# --- How many doses are listed ------------------------------------------------------------


def test_default_lists_a_year_beyond_the_given_doses():
    doses = plan(start=START, today=day(30), given=days({1: 0, 2: 14, 3: 28}))

    assert len(doses) == 3 + 13


def test_count_includes_given_doses():
    doses = plan(start=START, today=day(30), given=days({1: 0, 2: 14}), count=5)

    assert [dose.number for dose in doses] == [1, 2, 3, 4, 5]


def test_count_below_the_given_doses_still_lists_them_all_and_the_next():
    doses = plan(start=START, today=day(30), given=days({1: 0, 2: 14, 3: 28}), count=1)

    assert [(dose.number, dose.state) for dose in doses] == [
        (1, GIVEN),
        (2, GIVEN),
        (3, GIVEN),
        (4, DUE),
    ]


def test_until_lists_every_dose_dated_on_or_before_it():
    doses = plan(start=START, today=START, until=day(84))

    assert [dose.date for dose in doses] == [day(0), day(14), day(28), day(56), day(84)]


def test_until_before_the_next_dose_still_lists_it():
    doses = plan(start=START, today=day(20), given=days({1: 0}), until=day(1))

    assert [(dose.number, dose.state) for dose in doses] == [(1, GIVEN), (2, OVERDUE)]


def test_count_and_until_together_stop_at_whichever_comes_first():
    assert len(plan(start=START, today=START, until=day(365), count=4)) == 4
    assert len(plan(start=START, today=START, until=day(30), count=10)) == 3


# --- Booking window (unit policy) ----------------------------------------------------------


def test_window_follows_the_unit_policy():
    policy = Policy(book_early_days=3, flag_late_days=10)
    doses = plan(
        start=START,
        today=day(1),
        given=days({1: 0}),
        booked=days({2: 11, 3: 36}),
        policy=policy,
        count=4,
    )

    second, third, fourth = doses[1:]
    assert (second.window_start, second.window_end) == (day(11), day(24))
    assert not second.outside_window  # 3 days early is allowed by this unit
    assert third.due == day(25)
    assert (third.window_start, third.window_end) == (day(22), day(35))
    assert third.outside_window  # 11 days late
    assert (fourth.due, fourth.window_start, fourth.window_end) == (day(64), day(61), day(74))


def test_default_window_never_early_flag_after_seven_days():
    doses = plan(start=START, today=day(1), given=days({1: 0}), booked=days({2: 13}), count=3)

    second = doses[1]
    assert (second.window_start, second.window_end) == (day(14), day(21))
    assert second.outside_window
    on_last_day = plan(start=START, today=day(1), given=days({1: 0}), booked=days({2: 21}))
    assert not on_last_day[1].outside_window


def test_as_dict_is_json_ready():
    dose = plan(start=START, today=day(1), given=days({1: 0}), count=2)[1]

    assert json.loads(json.dumps(dose.as_dict())) == {
        "number": 2,
        "phase": "loading",
        "due": "2026-01-19",
        "state": "due",
        "date": "2026-01-19",
        "window_start": "2026-01-19",
        "window_end": "2026-01-26",
    }


# --- Contradictory histories are refused with a one-line message ---------------------------

ERRORS = [
    pytest.param(dict(given=days({1: 0, 3: 28})), "dose 2 is not", id="gap in given doses"),
    pytest.param(dict(given=days({2: 14})), "dose 1 is not", id="given without dose 1"),
    pytest.param(dict(given={0: START, 1: day(1)}), "start at 1", id="dose number 0"),
    pytest.param(dict(given={-1: START}), "start at 1", id="negative dose number"),
    pytest.param(
        dict(given=days({1: 0, 2: 0})), "not after dose 1", id="given on the same day as previous"
    ),
    pytest.param(
        dict(given=days({1: 10, 2: 5})), "not after dose 1", id="given before the previous"
    ),
    pytest.param(dict(given=days({1: -1})), "before the course start", id="given before start"),
    pytest.param(
        dict(given=days({1: 0}), booked=days({1: 3})), "already given", id="booked and given"
    ),
    pytest.param(dict(booked={0: START}), "start at 1", id="booked dose number 0"),
    pytest.param(dict(count=0), "at least 1", id="count 0"),
    pytest.param(dict(count=-3), "at least 1", id="negative count"),
    pytest.param(dict(events=[pause(-1)]), "before it started", id="event before start"),
    pytest.param(dict(events=[resume(10)]), "not paused", id="resume without pause"),
    pytest.param(dict(events=[pause(5), resume(10), resume(12)]), "not paused", id="resume twice"),
    pytest.param(dict(events=[pause(5), pause(10)]), "already paused", id="pause twice"),
    pytest.param(dict(events=[stop(5), pause(10)]), "stopped", id="pause after stop"),
    pytest.param(dict(events=[pause(3), stop(5), resume(10)]), "stopped", id="resume after stop"),
    pytest.param(dict(events=[stop(5), stop(5)]), "stopped", id="stop twice on one day"),
    pytest.param(
        dict(events=[CourseEvent("skip", day(5))]), "Unknown course event", id="unknown event"
    ),
    pytest.param(
        dict(today=datetime(2026, 2, 1, 9, 0)),  # noqa: DTZ001 (the mistake under test)
        "Expected a date for today",
        id="datetime for today",
    ),
    pytest.param(dict(policy=Policy(book_early_days=-1)), "negative", id="negative booking window"),
]


BOOKING_ORDER = [
    pytest.param(
        dict(given=days({1: 10}), booked=days({2: 10})),
        "not after dose 1",
        id="booked on the day of the previous given dose",
    ),
    pytest.param(
        dict(given=days({1: 10}), booked=days({2: 4})),
        "not after dose 1",
        id="booked before the previous given dose",
    ),
    pytest.param(
        dict(given=days({1: 0}), booked=days({2: 14, 3: 13})),
        "not after dose 2",
        id="booked before the previous booked dose",
    ),
    pytest.param(
        dict(given=days({1: 0}), booked=days({3: 28})),
        "dose 2 is neither given nor booked",
        id="gap before a booked dose",
    ),
    pytest.param(dict(booked=days({1: -2})), "before the course start", id="booked before start"),
]


@pytest.mark.parametrize(("history", "message"), BOOKING_ORDER)
def test_strict_check_refuses_bookings_out_of_order(history, message):
    """What `dose_schedule` refuses when typed: bookings in order after the given doses."""
    with pytest.raises(ScheduleError, match=message):
        check_booking_order(start=START, given=history.get("given", {}), booked=history["booked"])


@pytest.mark.parametrize(("history", "message"), BOOKING_ORDER)
def test_plan_flags_bookings_left_out_of_order_instead_of_refusing(history, message):
    """After an earlier dose is cancelled or moved, a later booking may sit too early or follow
    a gap: the page must still show it, flagged for rebooking, never moved."""
    doses = {d.number: d for d in plan(start=START, today=day(30), **history)}

    for number, on in history["booked"].items():
        assert doses[number].state is DoseState.BOOKED
        assert doses[number].date == on
    assert any(doses[number].outside_window for number in history["booked"])


@pytest.mark.parametrize(("history", "message"), ERRORS)
def test_contradictory_history_is_refused(history, message):
    arguments = dict(start=START, today=day(30)) | history

    with pytest.raises(ScheduleError, match=message) as raised:
        plan(**arguments)

    assert "\n" not in str(raised.value)


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


# --- Properties over random histories ------------------------------------------------------


@st.composite
def histories(draw, on_time: bool = False):
    """A random course: given doses (late, early or on time), maybe bookings, and a today."""
    start = draw(st.dates(date(2020, 1, 1), date(2035, 12, 31)))
    given_count = draw(st.integers(0, 25))
    given: dict[int, date] = {}
    previous = None
    for number in range(1, given_count + 1):
        if previous is None:
            due, earliest = start, 0
        else:
            due, earliest = previous + timedelta(days=interval_before(number)), -13
        lateness = 0 if on_time else draw(st.integers(earliest, 60))
        previous = given[number] = due + timedelta(days=lateness)
    booked: dict[int, date] = {}
    if not on_time:
        for number in range(given_count + 1, given_count + 1 + draw(st.integers(0, 3))):
            if previous is None:
                due, earliest = start, 0
            else:
                due, earliest = previous + timedelta(days=interval_before(number)), -5
            lateness = draw(st.integers(earliest, 30))
            previous = booked[number] = due + timedelta(days=lateness)
    last = previous or start
    today = last if on_time else last + timedelta(days=draw(st.integers(-30, 400)))
    return dict(start=start, given=given, booked=booked, today=today)


@settings(max_examples=300, deadline=None)
@hypothesis_given(histories(on_time=True))
def test_on_time_course_keeps_exact_intervals(history):
    doses = plan(**history)

    for earlier, later in pairwise(doses):
        assert (later.date - earlier.date).days == interval_before(later.number)
        assert later.date == later.due


@settings(max_examples=300, deadline=None)
@hypothesis_given(histories())
def test_given_or_booked_date_reanchors_the_next_due(history):
    doses = plan(**history)

    for earlier, later in pairwise(doses):
        if earlier.state in (GIVEN, BOOKED):
            assert later.due == earlier.date + timedelta(days=interval_before(later.number))


@settings(max_examples=300, deadline=None)
@hypothesis_given(histories(), st.frozensets(st.integers(0, 6), max_size=6))
def test_projected_dates_are_never_before_due(history, closed_weekdays):
    doses = plan(**history, is_open=lambda on: on.weekday() not in closed_weekdays)

    for dose in doses:
        if dose.state in (DUE, OVERDUE, PLANNED):
            assert dose.date >= dose.due
        if dose.state is OVERDUE:
            assert dose.date >= history["today"] > dose.due
            assert dose.date.weekday() not in closed_weekdays
    dates = [dose.date for dose in doses]
    assert dates == sorted(set(dates))


@settings(max_examples=200, deadline=None)
@hypothesis_given(histories())
def test_plan_is_deterministic(history):
    assert plan(**history) == plan(**history)


@settings(max_examples=300, deadline=None)
@hypothesis_given(histories(), st.integers(1, 40))
def test_numbers_states_and_phases(history, count):
    doses = plan(**history, count=count)
    given, booked = history["given"], history["booked"]

    assert [dose.number for dose in doses] == list(range(1, len(doses) + 1))
    assert len(doses) == max(count, len(given) + 1)
    for dose in doses:
        assert dose.phase is (L if dose.number <= LOADING_DOSE_COUNT else M)
        if dose.number in given:
            assert (dose.state, dose.date) == (GIVEN, given[dose.number])
        elif dose.number in booked:
            assert (dose.state, dose.date) == (BOOKED, booked[dose.number])
    pending = [dose.state for dose in doses if dose.state not in (GIVEN, BOOKED)]
    assert pending[:1] in ([], [DUE], [OVERDUE])
    assert set(pending[1:]) <= {PLANNED}


def test_days_late_counts_whole_days_past_due_and_never_negative():
    overdue = plan(start=START, today=day(10), count=1)[0]

    assert overdue.days_late(day(10)) == 10
    assert overdue.days_late(day(-3)) == 0
