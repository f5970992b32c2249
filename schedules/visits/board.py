"""The flow board, read only: each slot of a day with its places and who is in it; for each
patient where the visit is and the one next step as a button (DESIGN §2 "Each visit").

A presenter: it reads bookings and plans and says which buttons a row offers; the views render
it and the services decide, when a button is pressed, whether the step is allowed.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from django.db.models import Prefetch
from django.urls import reverse

from schedules.models import Booking, Slot, Unit, Visit
from schedules.planning import plans
from schedules.planning.facts import planning_prefetch
from schedules.unit import resources

# A patient waiting this long for the next step (checks after arriving, the dose after the
# checks, observation after the dose) is highlighted. Why 30 minutes: a visit holds its bed for
# about two hours, a 20–30 minute procedure and 60–90 minutes of observation (DESIGN §1, the
# patient leaflet); half an hour lost between two steps is what the visit can absorb before
# the bed runs into the next patient's. Unit policy, not a label rule: to be agreed with the
# unit's lead nurse.
WAITING_TOO_LONG = timedelta(minutes=30)
# The patient leaflet's observation is 60–90 minutes (DESIGN §2 "After"): past 90 minutes a
# patient still in observation is waiting to be discharged, and highlighted the same way.
LONGEST_OBSERVATION = timedelta(minutes=90)

# The stages counted at the top of the board, in the visit's order, with their labels.
COUNTED_STAGES = (
    Visit.Stage.BOOKED,
    Visit.Stage.ARRIVED,
    Visit.Stage.CHECKS_DONE,
    Visit.Stage.GIVEN,
    Visit.Stage.OBSERVATION,
    Visit.Stage.DISCHARGED,
    Visit.Stage.NOT_GIVEN,
    Visit.Stage.NOSHOW,
)


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int


@dataclass(frozen=True)
class Timing:
    """How long a row has been at its stage, when it is waiting for someone (None when it is
    not: booked, or finished). Seconds at the time the board was built: the page counts on from
    them, so a ward computer's wrong clock does not matter."""

    since: datetime
    seconds: int
    limit_seconds: int  # past this, highlighted: waiting too long for the next step
    waiting_for: str  # what the next step is, said with the highlight

    @property
    def too_long(self) -> bool:
        return self.seconds > self.limit_seconds

    @property
    def minutes(self) -> int:
        return self.seconds // 60


def _seconds(now: datetime, since: datetime) -> int:
    return max(int((now - since).total_seconds()), 0)


def stage_timing(booking: Booking, visit, now: datetime) -> Timing | None:
    """When the row's stage began and how long it may last before it is highlighted."""
    stage, wait = booking.stage, int(WAITING_TOO_LONG.total_seconds())
    if visit is None:
        return None
    arrived = (
        (visit.checks_at, wait, "a clinician's decision")
        if visit.needs_clinician and visit.checks_at
        else (visit.arrived_at, wait, "the pre-dose checks")
    )
    started = {
        Visit.Stage.ARRIVED: arrived,
        Visit.Stage.CHECKS_DONE: (visit.checks_at, wait, "the dose"),
        Visit.Stage.GIVEN: (booking.dose.given_at, wait, "observation to start"),
        Visit.Stage.OBSERVATION: (
            visit.observation_start,
            int(LONGEST_OBSERVATION.total_seconds()),
            "discharge",
        ),
    }.get(stage)
    if started is None or started[0] is None:
        return None
    since, limit, waiting_for = started
    return Timing(
        since=since, seconds=_seconds(now, since), limit_seconds=limit, waiting_for=waiting_for
    )


@dataclass(frozen=True)
class Action:
    """One button on the board: a POST form (sent with htmx when JavaScript runs) or a link
    to a page with a form (checks, give, not given, reschedule, cancel)."""

    label: str
    url: str
    post: bool = False
    style: str = "primary"


@dataclass
class BoardRow:
    booking: Booking
    stage: str
    phase: str
    blockers: list[str]
    visit: Visit | None
    primary: Action | None
    more: list[Action]
    undo: Action | None
    undo_deadline: datetime | None
    minutes_observed: int | None
    guidance: str
    waiting_for: str
    timing: Timing | None = None
    observation_left: int | None = None  # seconds until the 60-minute minimum, when observing
    operator_warning: str = ""  # the assigned operator may not do it that day (issue 19)

    @property
    def patient(self):
        return self.booking.dose.course.patient


@dataclass
class BoardSlot:
    slot: Slot
    rows: list[BoardRow] = field(default_factory=list)

    @property
    def booked(self) -> int:
        return sum(1 for row in self.rows if row.booking.status in Booking.PLACE_STATUSES)

    @property
    def free(self) -> int:
        return max(self.slot.places - self.booked, 0)


@dataclass
class Board:
    day: date
    today: date
    closed: str
    here: str
    slots: list[BoardSlot]

    @property
    def counts(self) -> list[StageCount]:
        """How many patients are at each stage (the board's top line)."""
        stages = [row.stage for slot in self.slots for row in slot.rows]
        return [StageCount(stage, stage.label, stages.count(stage)) for stage in COUNTED_STAGES]

    def context(self) -> dict:
        return {
            "day": self.day,
            "today": self.today,
            "is_today": self.day == self.today,
            "closed": self.closed,
            "here": self.here,
            "board": self,
            "slots": self.slots,
        }


def slots_with_patients(
    unit: Unit, first: date, last: date, *, slot_id: int | None = None, for_planning: bool = True
) -> list[Slot]:
    """The unit's slots between two days (or the one slot `slot_id`) with their (not
    cancelled) bookings: a constant number of queries. `for_planning` prefetches each
    booking's course for the engine and the patient's consents (the day list shows phases and
    blockers); the week shows only names, dose numbers and statuses, so it leaves them out."""
    bookings = (
        Booking.objects.exclude(status=Booking.Status.CANCELLED)
        .select_related("dose__course__patient", "visit", "operator")
        .prefetch_related("operator__competencies")
        .order_by("dose__course__patient__family_name", "pk")
    )
    if for_planning:
        bookings = bookings.prefetch_related(
            *planning_prefetch("dose__course__"), "dose__course__patient__consents"
        )
    found = Slot.objects.between(unit, first, last)
    if slot_id is not None:
        found = found.filter(pk=slot_id)
    slots = list(
        found.with_booked_count()
        .prefetch_related(Prefetch("bookings", queryset=bookings, to_attr="listed_bookings"))
        .order_by("start")
    )
    for slot in slots:
        slot.unit = unit
        for booking in slot.listed_bookings:
            booking.slot = slot
    return slots


def _phase_lookup(courses, *, unit, calendar, today):
    """{course id: {dose number: phase}} from the engine, one plan per course."""
    return {
        course.pk: {
            p.number: p.phase
            for p in plans.plan_for(course, today=today, unit=unit, calendar=calendar)
        }
        for course in courses
    }


def build_board(
    user, unit: Unit, day: date, *, today: date, now: datetime, here: str, slot_id=None
) -> Board:
    """The day's board (or the one slot `slot_id`, re-rendered after a button with htmx);
    `here` is where each row's buttons come back to."""
    closed = unit.calendar(day, day).closure_reason(day)
    slots = slots_with_patients(unit, day, day, slot_id=slot_id)
    courses = {b.dose.course.pk: b.dose.course for s in slots for b in s.listed_bookings}
    phases = _phase_lookup(
        courses.values(), unit=unit, calendar=plans.open_calendar(unit, today), today=today
    )
    board = Board(day=day, today=today, closed=closed, here=here, slots=[])
    for slot in slots:
        board_slot = BoardSlot(slot=slot)
        for booking in slot.listed_bookings:
            course = booking.dose.course
            board_slot.rows.append(
                board_row(
                    user,
                    booking,
                    board,
                    now=now,
                    phase=phases.get(course.pk, {}).get(booking.dose.number, ""),
                    blockers=course.patient.treatment_blockers(on=day),
                )
            )
        board.slots.append(board_slot)
    return board


# One row's buttons -----------------------------------------------------------------------------


@dataclass
class _Buttons:
    """Builds one row's buttons: links carry `next` back to the board."""

    pk: int
    here: str

    def link(self, name, label, style="primary") -> Action:
        return Action(
            label, f"{reverse(name, args=[self.pk])}?next={quote(self.here)}", style=style
        )

    def post(self, name, label, style="primary") -> Action:
        return Action(label, reverse(name, args=[self.pk]), post=True, style=style)


@dataclass
class _Step:
    """What a row offers at its stage: the next step as one button, the rest under "More",
    or a sentence saying why there is no button (who must act, what to do)."""

    primary: Action | None = None
    more: list[Action] = field(default_factory=list)
    guidance: str = ""
    waiting_for: str = ""


def _booked(buttons: _Buttons, board: Board, may_give: bool) -> _Step:
    """Booked, no outcome yet: arrival today; a late record for a past day; moving or
    cancelling a day still to come (and rescheduling first when the unit has closed)."""
    step, day, today = _Step(), board.day, board.today
    if board.closed and day >= today:
        step.guidance = "Unit closed: reschedule this booking."
        step.primary = buttons.link("schedules:reschedule", "Reschedule")
    elif day == today:
        step.primary = buttons.post("schedules:arrived", "Arrived")
    elif day < today:
        step.primary = (
            buttons.link("schedules:visit_give", "Record given (late)")
            if may_give
            else buttons.link("schedules:visit_not_given", "Not given")
        )
    if day <= today:
        step.more.append(buttons.post("schedules:noshow", "Did not attend", "outline-danger"))
    if day < today and may_give:
        step.more.append(buttons.link("schedules:visit_not_given", "Not given", "outline-danger"))
    if day >= today:
        if step.primary is None or step.primary.label != "Reschedule":
            step.more.append(buttons.link("schedules:reschedule", "Reschedule", "outline-primary"))
        step.more.append(buttons.link("schedules:cancel", "Cancel", "outline-secondary"))
    return step


def _arrived(
    buttons: _Buttons, booking: Booking, board: Board, may_give: bool, blocked: str
) -> _Step:
    """Arrived: the pre-dose checks, or a clinician's decision when a check said so. A visit
    that cannot end in a dose today (treatment held or paused since the arrival, a consent
    withdrawn) or whose day has passed stays here with what to do next (issue 17 §5)."""
    step, visit = _Step(), booking.visit_or_none
    not_given = buttons.link("schedules:visit_not_given", "Not given", "outline-danger")
    if blocked or board.day < board.today:
        step.guidance = blocked or "No outcome was recorded for this visit: record what happened."
        step.primary = buttons.link("schedules:visit_not_given", "Not given", "danger")
        if may_give and not blocked:
            step.more.append(
                buttons.link(
                    "schedules:visit_give", "Record given (paper record)", "outline-success"
                )
            )
        elif not may_give:
            step.waiting_for = "A clinician decides what follows."
        return step
    if visit is not None and visit.needs_clinician:
        if may_give:
            step.primary = buttons.link("schedules:visit_clear", "Clinician decision", "warning")
        else:
            step.waiting_for = "A clinician must decide before the dose is given."
        step.more.append(
            buttons.link("schedules:visit_checks", "Pre-dose checks", "outline-primary")
        )
    else:
        step.primary = buttons.link("schedules:visit_checks", "Pre-dose checks")
    step.more.append(not_given)
    return step


def _blocked(booking: Booking, blockers: list[str]) -> str:
    """Why the dose cannot be given at this visit now ("" when it can)."""
    course = booking.dose.course
    if course.status != course.Status.ACTIVE:
        return (
            f"Treatment is {course.get_status_display().lower()}: the dose cannot be given. "
            "Record it as not given; a clinician decides what follows."
        )
    if blockers:
        return (
            "The dose cannot be given: " + " ".join(blockers) + " Record it as not given; a "
            "clinician decides what follows."
        )
    return ""


def _checks_done(buttons: _Buttons, may_give: bool) -> _Step:
    step = _Step()
    if may_give:
        step.primary = buttons.link("schedules:visit_give", "Record dose given", "success")
    else:
        step.waiting_for = "Checks done: a clinician records the dose."
    step.more.append(buttons.link("schedules:visit_not_given", "Not given", "outline-danger"))
    return step


def _next_step(
    buttons: _Buttons, booking: Booking, board: Board, may_give: bool, blockers: list[str]
) -> _Step:
    stage = booking.stage
    if stage == Visit.Stage.BOOKED:
        return _booked(buttons, board, may_give)
    if stage in (Visit.Stage.ARRIVED, Visit.Stage.CHECKS_DONE):
        blocked = _blocked(booking, blockers)
        if stage == Visit.Stage.ARRIVED or blocked or board.day < board.today:
            return _arrived(buttons, booking, board, may_give, blocked)
        return _checks_done(buttons, may_give)
    if stage == Visit.Stage.GIVEN:
        return _Step(
            primary=buttons.post("schedules:visit_observe", "Start observation"),
            more=[buttons.post("schedules:visit_discharge", "Discharge", "outline-success")],
        )
    if stage == Visit.Stage.OBSERVATION:
        return _Step(primary=buttons.post("schedules:visit_discharge", "Discharge", "success"))
    return _Step()


def _undo(buttons: _Buttons, booking: Booking, now: datetime) -> tuple[Action | None, datetime]:
    """The undo of a press made by mistake, while its few minutes last."""
    deadline = booking.undo_deadline
    if deadline is None or now > deadline:
        return None, deadline
    if booking.stage == Visit.Stage.NOSHOW:
        return buttons.post(
            "schedules:undo_noshow", "Undo did not attend", "outline-dark"
        ), deadline
    return buttons.post("schedules:undo_arrived", "Undo arrived", "outline-dark"), deadline


def board_row(user, booking: Booking, board: Board, *, now, phase, blockers) -> BoardRow:
    """What one row offers: the next step as one button, the rest under "More"."""
    buttons = _Buttons(booking.pk, board.here)
    may_give = user.has_perm("schedules.record_administration")
    step = _next_step(buttons, booking, board, may_give, blockers)
    undo, deadline = _undo(buttons, booking, now)
    visit = booking.visit_or_none
    return BoardRow(
        booking=booking,
        stage=booking.stage,
        phase=phase,
        blockers=blockers,
        visit=visit,
        primary=step.primary,
        more=step.more,
        undo=undo,
        undo_deadline=deadline if undo else None,
        minutes_observed=visit.minutes_observed(now) if visit else None,
        guidance=step.guidance,
        waiting_for=step.waiting_for,
        timing=stage_timing(booking, visit, now) if board.day == board.today else None,
        observation_left=(
            int((visit.minimum_observation_end - now).total_seconds())
            if visit is not None and booking.stage == Visit.Stage.OBSERVATION
            else None
        ),
        operator_warning=(
            resources.operator_warning(booking, list(booking.operator.competencies.all()))
            if booking.operator is not None and booking.is_active
            else ""
        ),
    )
