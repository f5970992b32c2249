"""The dose-date engine: the only place where tofersen dose dates are computed.

Pure Python (standard library only, no Django), so every rule here can be tested exhaustively
and every page, booking and calendar feed shows the same dates.

Clinical rules (US PI §2.1 / EU SmPC 4.2; both labels agree):

1. 100 mg intrathecally: three loading doses 14 days apart (day 0, 14, 28), then one
   maintenance dose every 28 days. 28 days is not a calendar month.
2. Each dose is counted from the date the previous dose was actually given, not from the
   original plan. A delayed 2nd loading dose is given as soon as possible and the 3rd follows
   14 days later; a delayed 3rd is given as soon as possible and the 1st maintenance dose
   follows 28 days later; a delayed maintenance dose is given as soon as possible and later
   doses follow every 28 days from it.

So ``due(1) = start`` and ``due(n) = anchor(n - 1) + interval(n)``, where ``anchor(k)`` is the
date dose k was given, else the date it is booked for, else its projected date. "As soon as
possible" for an overdue, unbooked dose means today, or the next day the unit is open.

Unit policy, not label text (the labels give no tolerance window, minimum interval or
re-loading rule):

- The booking window (``Policy``): by default never earlier than due, flagged as late more
  than 7 days after due. Booking outside it needs a clinician's override (enforced by the
  booking service; the engine only reports the window).
- Pause / resume / stop are clinician decisions recorded as ``CourseEvent``. While paused or
  stopped nothing is projected. On resume the next dose is due as soon as possible, but never
  earlier than its normal interval after the previous dose: a short pause must not shorten an
  interval the label sets.
- "Restart loading" on a resume is recorded, never automatic: the next three doses are loading
  doses 14 days apart, then maintenance every 28 days. Its first dose is due no earlier than
  14 days after the previous dose, the shortest interval the label ever uses.

Judgement calls on how facts are read:

- Doses given are facts and are always listed, even when dated during a pause or after a stop.
- The latest event decides whether anything is projected, whatever its date: a pause recorded
  for next week stops projection now, so nobody books past a clinician's decision.
- When a course was resumed more than once between two doses, the latest resume decides the
  earliest date; a restart of loading chosen at any of them stays in force (a later pause and
  plain resume do not undo a clinician's decision to restart loading).
- Bookings are facts about the unit's diary, not about the patient's body, so ``plan`` never
  refuses them: when an earlier dose is cancelled or moved, a later booking that now sits too
  early (or follows a gap) is listed as BOOKED and flagged ``outside_window`` for a nurse to
  rebook, never silently moved. ``check_booking_order`` is the strict check for typed input
  (the ``dose_schedule`` command).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

LOADING_INTERVAL_DAYS = 14
MAINTENANCE_INTERVAL_DAYS = 28
LOADING_DOSE_COUNT = 3

# A year of maintenance doses ahead of the last one given, when the caller sets no limit.
DEFAULT_DOSES_AHEAD = 13
# How far ahead to look for an open day before giving up and projecting on today.
OPEN_DAY_SEARCH_DAYS = 366


class Phase(StrEnum):
    LOADING = "loading"
    MAINTENANCE = "maintenance"


class DoseState(StrEnum):
    GIVEN = "given"
    BOOKED = "booked"
    DUE = "due"
    OVERDUE = "overdue"
    PLANNED = "planned"


class EventKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    # Held for clinical review (a serious adverse event, a withdrawn consent): like a pause,
    # nothing is projected until a clinician decides to continue (a RESUME), pause or stop.
    HOLD = "hold"


class ScheduleError(ValueError):
    """An impossible or contradictory dose history; the message is one line fit for a nurse."""


@dataclass(frozen=True)
class CourseEvent:
    """A clinician's decision about the whole course, effective from ``on``.

    ``restart_loading`` only means something on a RESUME.
    """

    kind: EventKind
    on: date
    restart_loading: bool = False


@dataclass(frozen=True)
class Policy:
    """The unit's booking window around each due date (unit policy, not label text)."""

    book_early_days: int = 0
    flag_late_days: int = 7


DEFAULT_POLICY = Policy()
# Read-only, so it is safe as a shared default argument.
NO_DOSES: Mapping[int, date] = MappingProxyType({})


@dataclass(frozen=True)
class PlannedDose:
    number: int
    phase: Phase
    due: date
    state: DoseState
    # The given date, the booked date or the projected date, depending on ``state``.
    date: date
    # Earliest date it may be booked without a clinician's override.
    window_start: date
    # Latest date before it counts as late and needs a clinician's override.
    window_end: date

    @property
    def outside_window(self) -> bool:
        return self.date < self.window_start or self.date > self.window_end

    def days_late(self, today: date) -> int:
        """Whole days past due on `today` (0 when not yet due)."""
        return max((today - self.due).days, 0)

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "phase": str(self.phase),
            "due": self.due.isoformat(),
            "state": str(self.state),
            "date": self.date.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
        }


def plan(
    *,
    start: date,
    today: date,
    given: Mapping[int, date] = NO_DOSES,
    booked: Mapping[int, date] = NO_DOSES,
    events: Sequence[CourseEvent] = (),
    is_open: Callable[[date], bool] | None = None,
    policy: Policy = DEFAULT_POLICY,
    count: int | None = None,
    until: date | None = None,
) -> list[PlannedDose]:
    """Return the course's doses: every given dose, then the booked and projected ones.

    Rules from US PI §2.1 / EU SmPC 4.2; see the module docstring for what is unit policy.

    1. Validate the history; anything contradictory raises ``ScheduleError``.
    2. Walk the doses in order. ``due(n)`` is the previous anchor plus 14 days (loading) or
       28 days (maintenance). A RESUME dated after the previous dose and on or before this dose
       makes it due no earlier than the resume date, and may start a new loading series.
    3. While the latest event is a PAUSE, HOLD or STOP only the given doses are listed.
    4. Otherwise the doses after the given ones are the booked ones (BOOKED even if in the
       past: the day list handles no-shows), then projected ones. Only the first of those is
       DUE or OVERDUE; an overdue one is projected to today or the next open day, and later
       doses chain from that date. The rest are PLANNED on their due date.
    5. Stop after ``count`` doses in all, or after the last dose dated on or before ``until``;
       all given doses and, while the course is active, the next dose are always listed.
       Without either limit: 13 doses beyond the given ones (a year of maintenance).
    """
    last_given, resumes, active = _check_history(
        start=start,
        today=today,
        until=until,
        given=given,
        booked=booked,
        events=events,
        policy=policy,
        count=count,
    )
    if count is None and until is None:
        count = last_given + DEFAULT_DOSES_AHEAD
    # All given doses are facts and are always listed; an active course also shows its next.
    floor = last_given + 1 if active else last_given

    resume_dates = [event.on for event in resumes]
    next_resume = 0
    series_start = 1  # first dose of the current loading series
    previous_anchor: date | None = None
    first_pending = True
    doses: list[PlannedDose] = []
    number = 0
    while True:
        number += 1
        if number > last_given and not active:
            break
        if number > floor and count is not None and number > count:
            break
        given_on = given.get(number)
        # RESUMEs not yet applied, dated on or before this dose (any, if it is not given yet).
        end = (
            bisect.bisect_right(resume_dates, given_on, lo=next_resume)
            if given_on is not None
            else len(resume_dates)
        )
        resume = resumes[end - 1] if end > next_resume else None
        restart = _restarts_loading(resumes[next_resume:end])
        next_resume = end

        if restart:
            series_start = number
        phase, interval = _phase(number, series_start)
        due = start if previous_anchor is None else _shift(previous_anchor, interval)
        if resume is not None:
            due = _not_before_interval(due, resume.on)

        if given_on is not None:
            state, on = DoseState.GIVEN, given_on
        elif number in booked:
            state, on = DoseState.BOOKED, booked[number]
        elif first_pending:
            first_pending = False
            state, on = _pending(due, today, is_open)
        else:
            state, on = DoseState.PLANNED, due

        if until is not None and number > floor and on > until:
            break
        doses.append(
            PlannedDose(
                number=number,
                phase=phase,
                due=due,
                state=state,
                date=on,
                window_start=_shift(due, -policy.book_early_days),
                window_end=_shift(due, policy.flag_late_days),
            )
        )
        previous_anchor = on
    return doses


def _check_history(
    *, start, today, until, given, booked, events, policy, count
) -> tuple[int, list[CourseEvent], bool]:
    """Step 1 of `plan`: refuse a contradictory history. Returns the last dose given, the
    resumes, and whether the course is active."""
    for name, value in (("start", start), ("today", today), ("until", until)):
        _check_date(name, value)
    _check_policy(policy)
    if count is not None and count < 1:
        raise ScheduleError(f"Number of doses to list must be at least 1, not {count}.")
    last_given = _check_given(start, given)
    resumes, active = _check_events(start, events)
    if active:
        # Pausing or stopping cancels bookings, so stale ones are neither checked nor listed.
        _check_booked_numbers(given, booked)
    return last_given, resumes, active


def _phase(number: int, series_start: int) -> tuple[Phase, int]:
    """The dose's phase and the interval before it: the first three doses of a loading series
    are 14 days apart, then every 28 days (US PI §2.1; EU SmPC 4.2)."""
    if number - series_start < LOADING_DOSE_COUNT:
        return Phase.LOADING, LOADING_INTERVAL_DAYS
    return Phase.MAINTENANCE, MAINTENANCE_INTERVAL_DAYS


def _pending(due: date, today: date, is_open) -> tuple[DoseState, date]:
    """The first dose neither given nor booked: due on its date, or overdue and projected for
    as soon as possible (today or the next open day; EU SmPC 4.2 on a delayed dose)."""
    if due < today:
        return DoseState.OVERDUE, _first_open_day(today, is_open)
    return DoseState.DUE, due


def _not_before_interval(due: date, resumed_on: date) -> date:
    """Safe side of a resume: as soon as possible, but never sooner than the interval the
    label sets after the previous dose (unit policy; see the module docstring)."""
    return max(due, resumed_on)


def _restarts_loading(resumes: Sequence[CourseEvent]) -> bool:
    """Whether the resumes applied at one dose restart loading: any of them that chose it,
    so a later pause and plain resume do not undo a clinician's decision (DESIGN §2)."""
    return any(event.restart_loading for event in resumes)


def _first_open_day(today: date, is_open: Callable[[date], bool] | None) -> date:
    """As soon as possible: today or the next open day (today if none within a year)."""
    if is_open is None:
        return today
    for offset in range(OPEN_DAY_SEARCH_DAYS + 1):
        day = _shift(today, offset)
        if is_open(day):
            return day
    return today


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, or a one-line ScheduleError when the calendar ends first (a
    start typed as 9999-12-31 must give a message, never an OverflowError)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise ScheduleError(
            f"{day:%d %b %Y} is too far from today to plan from; check the dates recorded."
        ) from None


def _check_date(name: str, value: object) -> None:
    # A datetime is a date subclass but cannot be compared with one; catch it at the door.
    if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
        raise ScheduleError(f"Expected a date for {name}, got {value!r}.")


def _check_policy(policy: Policy) -> None:
    if policy.book_early_days < 0 or policy.flag_late_days < 0:
        raise ScheduleError("The unit's booking window cannot use negative numbers of days.")


def _check_given(start: date, given: Mapping[int, date]) -> int:
    """Validate the given doses; return the number of the last one (0 if none)."""
    numbers = sorted(given)
    for expected, number in enumerate(numbers, start=1):
        if number < 1:
            raise ScheduleError(f"Dose numbers start at 1; got given dose {number}.")
        if number != expected:
            raise ScheduleError(f"Dose {number} is recorded as given but dose {expected} is not.")
    previous: date | None = None
    for number in numbers:
        on = given[number]
        _check_date(f"date dose {number} was given", on)
        if number == 1 and on < start:
            raise ScheduleError(f"Dose 1 was given on {on}, before the course start {start}.")
        if previous is not None and on <= previous:
            raise ScheduleError(
                f"Dose {number} was given on {on}, not after dose {number - 1} on {previous}."
            )
        previous = on
    return len(numbers)


def _check_booked_numbers(given: Mapping[int, date], booked: Mapping[int, date]) -> None:
    """Bookings that cannot mean anything: a dose number below 1, or a dose already given."""
    for number, on in booked.items():
        _check_date(f"date dose {number} is booked for", on)
        if number < 1:
            raise ScheduleError(f"Dose numbers start at 1; got booked dose {number}.")
        if number in given:
            raise ScheduleError(
                f"Dose {number} is booked but was already given on {given[number]}."
            )


def check_booking_order(
    *, start: date, given: Mapping[int, date], booked: Mapping[int, date]
) -> None:
    """Strict check of typed input: bookings follow the given doses without a gap, each after
    the one before. ``plan`` itself flags such bookings instead of refusing them."""
    _check_booked_numbers(given, booked)
    last_given = _check_given(start, given)
    previous = given.get(last_given)
    for expected, number in enumerate(sorted(booked), start=last_given + 1):
        on = booked[number]
        if number != expected:
            raise ScheduleError(
                f"Dose {number} is booked but dose {expected} is neither given nor booked."
            )
        if number == 1 and on < start:
            raise ScheduleError(f"Dose 1 is booked for {on}, before the course start {start}.")
        if previous is not None and on <= previous:
            raise ScheduleError(
                f"Dose {number} is booked for {on}, not after dose {number - 1} on {previous}."
            )
        previous = on


def _check_events(start: date, events: Sequence[CourseEvent]) -> tuple[list[CourseEvent], bool]:
    """Validate the course events; return the RESUMEs in date order and whether it is active."""
    for event in events:
        _check_date(f"date of the {event.kind} event", event.on)
        if event.kind not in tuple(EventKind):
            raise ScheduleError(f"Unknown course event {event.kind!r}.")
    resumes: list[CourseEvent] = []
    state: EventKind | None = None
    # sorted() is stable, so same-day events keep the order the caller gave.
    for event in sorted(events, key=lambda event: event.on):
        kind = EventKind(event.kind)
        if event.on < start:
            raise ScheduleError(
                f"The course cannot {kind} on {event.on}, before it started on {start}."
            )
        if state is EventKind.STOP:
            raise ScheduleError(f"The course was stopped; it cannot {kind} on {event.on}.")
        if kind is EventKind.RESUME and state not in (EventKind.PAUSE, EventKind.HOLD):
            raise ScheduleError(f"The course cannot resume on {event.on}: it was not paused.")
        if kind is EventKind.PAUSE and state is EventKind.PAUSE:
            raise ScheduleError(f"The course cannot pause on {event.on}: it is already paused.")
        if kind is EventKind.HOLD and state is EventKind.HOLD:
            raise ScheduleError(f"The course cannot be held on {event.on}: it is already held.")
        if kind is EventKind.RESUME:
            resumes.append(event)
        state = kind
    return resumes, state not in (EventKind.PAUSE, EventKind.HOLD, EventKind.STOP)
