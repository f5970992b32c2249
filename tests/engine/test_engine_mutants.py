"""The dose-date engine, for the mistakes mutation testing showed the other tests would miss.

Each test here was written for a mutant of `schedules/engine.py` that survived the engine's own
tests (`make mutants`, issue 22): a condition forced true, a bound moved by one, a check
deleted. Each states what a clinician or a nurse would see if that mistake shipped. Pure tests:
no database, no Django. Days are offsets from a course start, as in the labels (0 / 14 / 28,
then every 28 days from the dose given).
"""

from datetime import date, datetime, timedelta

import pytest

from schedules.engine import (
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
GIVEN, BOOKED, DUE, OVERDUE, PLANNED = (
    DoseState.GIVEN,
    DoseState.BOOKED,
    DoseState.DUE,
    DoseState.OVERDUE,
    DoseState.PLANNED,
)
# Loading and the first maintenance dose, all given on time.
ON_TIME_TO_DOSE_4 = {1: 0, 2: 14, 3: 28, 4: 56}


def day(offset: int) -> date:
    return START + timedelta(days=offset)


def days(mapping: dict[int, int]) -> dict[int, date]:
    """{dose number: day offset} -> {dose number: date}."""
    return {number: day(offset) for number, offset in mapping.items()}


def event(kind: EventKind, offset: int, restart_loading: bool = False) -> CourseEvent:
    return CourseEvent(kind, day(offset), restart_loading=restart_loading)


def rows(doses: list[PlannedDose]) -> list[tuple]:
    """(number, phase, due offset, state, date offset): the dates on the patient's letter."""
    return [
        (dose.number, dose.phase, (dose.due - START).days, dose.state, (dose.date - START).days)
        for dose in doses
    ]


# --- Holds and resumes: only a RESUME restarts anything -----------------------------------


def test_held_then_continued_course_books_the_next_dose_again():
    """A serious event held the course; the clinician's "continue" (a RESUME) lifts the hold:
    the next dose is due at its normal interval, or on the day of the decision if later."""
    doses = plan(
        start=START,
        today=day(100),
        given=days(ON_TIME_TO_DOSE_4),
        events=[event(EventKind.HOLD, 60), event(EventKind.RESUME, 100)],
        count=6,
    )

    assert rows(doses)[4:] == [(5, M, 100, DUE, 100), (6, M, 128, PLANNED, 128)]


def test_held_course_projects_nothing_until_a_clinician_decides():
    doses = plan(
        start=START,
        today=day(100),
        given=days(ON_TIME_TO_DOSE_4),
        events=[event(EventKind.HOLD, 60)],
        count=10,
    )

    assert [(dose.number, dose.state) for dose in doses] == [(n, GIVEN) for n in range(1, 5)]


def test_a_course_cannot_be_held_twice():
    """A second hold while the first is unresolved is a contradictory record; the nurse is told
    which day and why, in one sentence."""
    with pytest.raises(ScheduleError) as raised:
        plan(
            start=START,
            today=day(100),
            given=days(ON_TIME_TO_DOSE_4),
            events=[event(EventKind.HOLD, 60), event(EventKind.HOLD, 70)],
        )

    assert str(raised.value) == "The course cannot be held on 2026-03-16: it is already held."


def test_paused_then_held_then_resumed_does_not_restart_loading_unless_chosen():
    """A patient paused, then held, then resumed stays on 28-day maintenance: restarting loading
    is a clinician's choice recorded on the resume, never read from a pause or a hold (a flag
    left on those means nothing, as the engine's CourseEvent says)."""
    history = dict(start=START, today=day(150), given=days(ON_TIME_TO_DOSE_4), count=8)
    pause_and_hold = [
        event(EventKind.PAUSE, 60, restart_loading=True),
        event(EventKind.HOLD, 80, restart_loading=True),
    ]

    plain = plan(**history, events=[*pause_and_hold, event(EventKind.RESUME, 150)])
    chosen = plan(**history, events=[*pause_and_hold, event(EventKind.RESUME, 150, True)])

    assert rows(plain)[4:] == [
        (5, M, 150, DUE, 150),
        (6, M, 178, PLANNED, 178),
        (7, M, 206, PLANNED, 206),
        (8, M, 234, PLANNED, 234),
    ]
    assert rows(chosen)[4:] == [
        (5, L, 150, DUE, 150),
        (6, L, 164, PLANNED, 164),
        (7, L, 178, PLANNED, 178),
        (8, M, 206, PLANNED, 206),
    ]


def test_a_dose_given_while_held_keeps_its_due_date():
    """Dose 5 was due on day 84; the course was held on day 86 and a clinician recorded the dose
    given on day 90 (given elsewhere) before resuming. The hold is not a resume: the dose was
    due on day 84 and is shown 6 days late, not 4."""
    doses = plan(
        start=START,
        today=day(95),
        given=days({**ON_TIME_TO_DOSE_4, 5: 90}),
        events=[event(EventKind.HOLD, 86), event(EventKind.RESUME, 95)],
        count=6,
    )

    fifth = doses[4]
    assert (fifth.due, fifth.date, fifth.days_late(fifth.date)) == (day(84), day(90), 6)
    assert rows(doses)[5:] == [(6, M, 118, DUE, 118)]


def test_a_dose_given_during_a_pause_keeps_its_due_date():
    doses = plan(
        start=START,
        today=day(95),
        given=days({**ON_TIME_TO_DOSE_4, 5: 90}),
        events=[event(EventKind.PAUSE, 86)],
    )

    assert (doses[4].due, doses[4].state, doses[4].date) == (day(84), GIVEN, day(90))


def test_paused_course_with_stale_bookings_still_shows_its_doses():
    """Pausing cancels bookings; one the diary still holds, even one that now contradicts a dose
    recorded as given, must not stop the patient's page from showing what was given."""
    doses = plan(
        start=START,
        today=day(70),
        given=days(ON_TIME_TO_DOSE_4),
        booked=days({4: 57}),
        events=[event(EventKind.PAUSE, 60)],
    )

    assert [(dose.number, dose.state) for dose in doses] == [(n, GIVEN) for n in range(1, 5)]


# --- Dates typed as date-and-time are refused, naming the field ----------------------------

DATETIME_AT_NINE = datetime(2026, 2, 1, 9, 0)


@pytest.mark.parametrize(
    ("history", "field"),
    [
        pytest.param(dict(start=DATETIME_AT_NINE), "start", id="start"),
        pytest.param(dict(until=DATETIME_AT_NINE), "until", id="until"),
        pytest.param(
            dict(given={1: START, 2: DATETIME_AT_NINE}), "date dose 2 was given", id="given"
        ),
        pytest.param(dict(given={1: DATETIME_AT_NINE}), "date dose 1 was given", id="given 1"),
        pytest.param(
            dict(given=days({1: 0}), booked={2: DATETIME_AT_NINE}),
            "date dose 2 is booked for",
            id="booked",
        ),
        pytest.param(
            dict(events=[CourseEvent(EventKind.PAUSE, DATETIME_AT_NINE)]),
            "date of the pause event",
            id="event",
        ),
    ],
)
def test_a_date_and_time_where_a_date_belongs_is_refused_naming_the_field(history, field):
    """A due date is a day, not midnight of a day: a datetime slipped in by a caller would
    print times on the patient's letter or compare wrongly. The message says which field."""
    arguments = dict(start=START, today=day(30)) | history

    with pytest.raises(ScheduleError) as raised:
        plan(**arguments)

    assert str(raised.value) == f"Expected a date for {field}, got {DATETIME_AT_NINE!r}."


# --- Booking the first dose ---------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 3], ids=["on the start day", "after the start day"])
def test_first_dose_may_be_booked_on_or_after_the_course_start(offset):
    """A new patient's first dose is booked for the day the course starts (the usual case) or
    later; only a day before the start is refused."""
    check_booking_order(start=START, given={}, booked={1: day(offset)})

    first = plan(start=START, today=START, booked={1: day(offset)}, count=2)[0]
    assert (first.state, first.date) == (BOOKED, day(offset))


def test_first_dose_booked_the_day_before_the_start_is_refused():
    with pytest.raises(ScheduleError) as raised:
        check_booking_order(start=START, given={}, booked={1: day(-1)})

    assert (
        str(raised.value) == "Dose 1 is booked for 2026-01-04, before the course start 2026-01-05."
    )


# --- The unit's booking window ------------------------------------------------------------


def test_a_unit_that_flags_any_lateness_can_set_zero_late_days():
    """Zero days' tolerance is a legitimate unit policy: a dose on its due day is in window, a
    dose booked one day after is flagged for a clinician's override."""
    policy = Policy(book_early_days=0, flag_late_days=0)

    on_due = plan(
        start=START, today=day(1), given=days({1: 0}), booked=days({2: 14}), policy=policy
    )
    day_late = plan(
        start=START, today=day(1), given=days({1: 0}), booked=days({2: 15}), policy=policy
    )

    assert (on_due[1].window_start, on_due[1].window_end) == (day(14), day(14))
    assert not on_due[1].outside_window
    assert day_late[1].outside_window


@pytest.mark.parametrize(
    "policy",
    [Policy(book_early_days=-1), Policy(flag_late_days=-1)],
    ids=["negative early days", "negative late days"],
)
def test_a_negative_booking_window_is_refused_with_a_sentence_a_nurse_can_read(policy):
    with pytest.raises(ScheduleError) as raised:
        plan(start=START, today=START, policy=policy)

    assert str(raised.value) == "The unit's booking window cannot use negative numbers of days."


# --- As soon as possible, and the end of the calendar -------------------------------------


def only_open_on(*open_days: date):
    return lambda on: on in open_days


def test_overdue_dose_waits_for_an_open_day_up_to_a_year_and_a_day_ahead():
    """A unit closed for a long refurbishment: the overdue dose is projected to the first day it
    is open again, as long as that is within 366 days (a leap year's worth)."""
    today = day(50)
    reopens = today + timedelta(days=366)

    first = plan(start=START, today=today, is_open=only_open_on(reopens), count=1)[0]

    assert (first.state, first.date) == (OVERDUE, reopens)


def test_overdue_dose_stays_on_today_when_the_unit_is_closed_for_more_than_a_year():
    """Beyond the search horizon the engine gives up and shows the dose overdue today, so it
    stays on the worklists instead of vanishing into a far future date."""
    today = day(50)
    reopens = today + timedelta(days=367)

    first = plan(start=START, today=today, is_open=only_open_on(reopens), count=1)[0]

    assert (first.state, first.date) == (OVERDUE, today)


def test_a_course_at_the_end_of_the_calendar_gets_a_message_naming_the_date():
    with pytest.raises(ScheduleError) as raised:
        plan(start=date(9999, 12, 20), today=date(9999, 12, 20))

    assert str(raised.value) == (
        "20 Dec 9999 is too far from today to plan from; check the dates recorded."
    )
