"""What a change will do before it is confirmed (issue 10): a reschedule, pause, resume or stop
planned by the engine on the course's facts with the change applied in memory; nothing is
written."""

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.utils import timezone

from schedules import engine
from schedules.models import Booking, Slot, TreatmentCourse, Unit
from schedules.planning.facts import CourseFacts, planned_course
from schedules.planning.plans import PROBLEM, CoursePlan, next_dose, open_calendar
from schedules.planning.suggestions import rank_offers
from schedules.unit.loads import level_loads
from schedules.unit.selectors import FreeSlots

# How far ahead the letter and the feed list provisional (not yet booked) dates.
PROVISIONAL_DAYS = 183


def future_bookings(course: TreatmentCourse):
    """The course's active bookings from now on: what pausing or stopping cancels (DESIGN §2:
    "Pausing cancels future bookings"). The pause and stop services cancel exactly these, and
    their previews list exactly these, so a preview cannot disagree with what happens.

    A patient already marked arrived is not a future booking: their visit stays on the board
    for the nurse to record what happened (issue 17 §5: never silently cancelled)."""
    return Booking.objects.filter(
        status=Booking.Status.BOOKED, dose__course=course, slot__start__gte=timezone.now()
    )


@dataclass(frozen=True)
class Reschedule:
    """Move `booking` into `slot`."""

    booking: Booking
    slot: Slot


@dataclass(frozen=True)
class Decision:
    """A clinician's decision about the course: `kind` is a `CourseEvent.Kind` value
    (pause, resume or stop), effective `on`."""

    kind: str
    on: date
    restart_loading: bool = False


@dataclass(frozen=True)
class MovedDose:
    """A later dose whose date moves: a projected date, as the patient's record and letter
    show it (given and booked dates are facts and never move by themselves)."""

    number: int
    before: date
    after: date


@dataclass(frozen=True)
class OutOfWindow:
    """A booked later dose that the change puts outside its window (DESIGN §2: unit policy):
    left where it is and flagged for rebooking, never moved silently."""

    booking: Booking
    planned: engine.PlannedDose

    @property
    def early(self) -> bool:
        return self.planned.date < self.planned.window_start


@dataclass
class ChangePreview:
    """What a reschedule, pause, resume or stop will change, computed by the engine on the
    course's facts with the change applied in memory (nothing is written)."""

    moved: list[MovedDose] = field(default_factory=list)
    out_of_window: list[OutOfWindow] = field(default_factory=list)
    cancelled: list[Booking] = field(default_factory=list)
    # The first dose not yet given, after the change (what resuming makes due).
    next_dose: engine.PlannedDose | None = None
    # A date or time on the patient's schedule letter changes: it must be printed again.
    letter_changes: bool = False
    problem: str = ""

    @property
    def fingerprint(self) -> str:
        """A short digest of everything the preview says. A page posts back the fingerprint
        of the preview it showed; the change is made only when it still matches, so what
        the user confirmed is what happens."""
        parts = [
            self.problem,
            repr([(m.number, m.before, m.after) for m in self.moved]),
            repr(
                [
                    (o.booking.pk, o.planned.window_start, o.planned.window_end)
                    for o in self.out_of_window
                ]
            ),
            repr(sorted(b.pk for b in self.cancelled)),
            repr(self.next_dose.as_dict() if self.next_dose else None),
            repr(self.letter_changes),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def preview_confirmed(preview: ChangePreview, posted: str | None) -> bool:
    """Whether the user confirmed this very preview (the fingerprint the page posted back):
    a change is made only then, so what was shown is what happens (issue 10)."""
    return posted == preview.fingerprint


def _letter_lines(plan_until: list[engine.PlannedDose], starts: list[datetime]) -> tuple:
    """What the schedule letter prints for a course: its future appointments (date and time)
    and its provisional dates (an overdue dose as "as soon as possible")."""
    pending = (engine.DoseState.DUE, engine.DoseState.OVERDUE, engine.DoseState.PLANNED)
    provisional = [
        (p.state == engine.DoseState.OVERDUE, p.date) for p in plan_until if p.state in pending
    ]
    return tuple(sorted(starts)), tuple(provisional)


@dataclass
class _Facts:
    """The course's facts with the start time of each active, not yet given booking (what
    the letter prints)."""

    facts: CourseFacts
    starts: dict[int, datetime]


def _current(course: TreatmentCourse) -> tuple[_Facts, dict[int, Booking]]:
    """The course's facts as stored now, and its active bookings of doses not yet given."""
    bookings = {
        dose.number: dose.active_booking
        for dose in course.doses.all()
        if not dose.given_at and dose.active_booking is not None
    }
    starts = {number: booking.slot.start for number, booking in bookings.items()}
    return _Facts(CourseFacts.from_prefetched(course), starts), bookings


def _rescheduled(now: _Facts, change: Reschedule, unit: Unit) -> _Facts:
    """The facts with one booking moved to another slot."""
    slot = change.slot
    if slot.unit_id == unit.pk:
        slot.unit = unit  # local_date without another query
    number = change.booking.dose.number
    return _Facts(
        now.facts.with_booked({number: slot.local_date}), {**now.starts, number: slot.start}
    )


def _decided(
    now: _Facts, change: Decision, course: TreatmentCourse
) -> tuple[_Facts, list[Booking]]:
    """The facts with a decision added to the events and, for a pause or stop, the future
    bookings it cancels (`future_bookings`, the very query the services cancel) taken out."""
    on = max(change.on, course.start_date)  # as the services record it (_event_date)
    event = engine.CourseEvent(engine.EventKind(change.kind), on, change.restart_loading)
    booked, starts = dict(now.facts.booked), dict(now.starts)
    cancelled = []
    if change.kind in (engine.EventKind.PAUSE, engine.EventKind.STOP):
        cancelled = list(
            future_bookings(course).select_related("dose", "slot__unit").order_by("slot__start")
        )
        for booking in cancelled:
            booked.pop(booking.dose.number, None)
            starts.pop(booking.dose.number, None)
    facts = replace(now.facts, booked=booked, events=[*now.facts.events, event])
    return _Facts(facts, starts), cancelled


def _compare(
    preview: ChangePreview,
    before: dict[int, engine.PlannedDose],
    after: list[engine.PlannedDose],
    *,
    changed: int | None,
    bookings: dict[int, Booking],
) -> None:
    """Projected doses whose date moves, and booked later doses newly outside their window."""
    for planned in after:
        old = before.get(planned.number)
        if planned.number == changed or planned.state == engine.DoseState.GIVEN:
            continue
        if planned.state == engine.DoseState.BOOKED:
            newly_out = planned.outside_window and not (
                old is not None and old.state == engine.DoseState.BOOKED and old.outside_window
            )
            if newly_out and planned.number in bookings:
                preview.out_of_window.append(OutOfWindow(bookings[planned.number], planned))
        elif old is not None and old.state != engine.DoseState.BOOKED and old.date != planned.date:
            preview.moved.append(MovedDose(planned.number, old.date, planned.date))


def preview_change(
    course: TreatmentCourse, *, change: Reschedule | Decision, today: date | None = None
) -> ChangePreview:
    """What `change` will do to `course`, before it is confirmed.

    1. Read the course's facts (doses given, active bookings, events) in a fixed number of
       queries, whatever the number of doses.
    2. Build the facts after the change in memory: a booking moved to another day; or a
       decision added to the events, with the future bookings a pause or stop cancels
       (`future_bookings`, the very query the services cancel) taken out.
    3. Plan both with the engine (the unit's open days and window, DESIGN §2) and compare:
       projected doses whose date moves, booked later doses newly outside their window,
       the next dose after the change, and whether the schedule letter's dates change.
    """
    today = today or timezone.localdate()
    unit = Unit.current()
    calendar = open_calendar(unit, today)
    course = planned_course(course.pk)
    now, bookings = _current(course)
    preview = ChangePreview()
    changed = None
    if isinstance(change, Reschedule):
        changed = change.booking.dose.number
        after = _rescheduled(now, change, unit)
    else:
        after, preview.cancelled = _decided(now, change, course)

    moment = timezone.now()
    until = today + timedelta(days=PROVISIONAL_DAYS)

    def plan(state: _Facts, **limits):
        return state.facts.plan(today=today, is_open=calendar.is_open, policy=unit.policy, **limits)

    def letter(state: _Facts):
        future = [start for start in state.starts.values() if start >= moment]
        return _letter_lines(plan(state, until=until), future)

    try:
        before = {p.number: p for p in plan(now)}
        after_plan = plan(after)
        letter_changes = letter(now) != letter(after)
    except engine.ScheduleError as error:
        preview.problem = PROBLEM.format(error=error)
        return preview
    _compare(preview, before, after_plan, changed=changed, bookings=bookings)
    preview.next_dose = next_dose(CoursePlan(course, after_plan))
    preview.letter_changes = letter_changes
    return preview


# Moving a series (issue 19 item 4) -------------------------------------------------------------


@dataclass(frozen=True)
class SeriesMove:
    """A later booked dose moved with the dose before it: its plan counted from the earlier
    doses' new dates (the engine's window, DESIGN §2), and the slot it goes to, the best of
    that window (levelled, `suggestions.rank_offers`); its own slot when that still fits.
    `slot` is None when the new window has no free slot (the series cannot move whole)."""

    booking: Booking
    planned: engine.PlannedDose
    slot: Slot | None
    reason: str = ""

    @property
    def stays(self) -> bool:
        return self.slot is not None and self.slot.pk == self.booking.slot_id


def series_moves(
    course: TreatmentCourse, *, change: Reschedule, today: date | None = None
) -> list[SeriesMove]:
    """What "move the later doses with it" proposes when `change` moves a booked dose: each
    later booked dose, in order, counted from the new date of the dose before it (EU SmPC
    4.2: each dose from the previous one), kept where it is while its slot is still inside
    its new window, else moved to the best free slot of that window. Stops at a dose whose
    window has no free slot (listed with `slot=None`). Nothing is written."""
    today = today or timezone.localdate()
    unit = Unit.current()
    calendar = open_calendar(unit, today)
    course = planned_course(course.pk)
    now, bookings = _current(course)
    moved_number = change.booking.dose.number
    later = sorted(number for number in bookings if number > moved_number)
    if not later:
        return []
    slot = change.slot
    if slot.unit_id == unit.pk:
        slot.unit = unit
    booked = {n: d for n, d in now.facts.booked.items() if n not in later}
    booked[moved_number] = slot.local_date
    policy = unit.policy
    last = today + timedelta(
        days=(len(later) + 1) * engine.MAINTENANCE_INTERVAL_DAYS + policy.flag_late_days + 14
    )
    free = FreeSlots(unit=unit, calendar=calendar, first=today, last=last)
    loads = level_loads(unit, today, last, calendar=calendar)
    extra = {slot.local_date: 1}
    moves = []
    for number in later:
        current = bookings[number]
        facts = replace(now.facts, booked=dict(booked))
        try:
            plan = facts.plan(today=today, is_open=calendar.is_open, policy=policy)
        except engine.ScheduleError:
            return moves
        planned = next((p for p in plan if p.number == number), None)
        if planned is None:
            return moves
        if planned.window_start <= current.local_date <= planned.window_end:
            target = current.slot
            reason = "Still inside its window: stays."
        else:
            offers = rank_offers(
                free, loads, max(planned.window_start, today), planned.window_end, extra=extra
            )
            target = offers[0].slot if offers else None
            reason = offers[0].reason if offers else "No free slot in its new window."
        moves.append(SeriesMove(current, planned, target, reason))
        if target is None:
            break
        day = target.local_date
        booked[number] = day
        extra[day] = extra.get(day, 0) + 1
    return moves
