"""The unit's calendar and capacity, read only: free slots, bookings on given days, the
demand-and-capacity forecast, and the month grid and week columns of the calendar pages."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from schedules import engine
from schedules.models import Booking, ProjectedDose, Slot, TreatmentCourse, Unit, UnitCalendar
from schedules.unit import grid
from tofersen_scheduler.dates import format_day


class FreeSlots:
    """The unit's slots with a free place between two dates, loaded in one query, so a
    worklist can offer choices for many doses at a constant cost. Each slot carries its
    `booked_count` (the query's annotation). (Here, with the unit's other reads, so that
    planning's suggestions can read `day_loads` beside it without an import cycle.)"""

    def __init__(self, *, unit: Unit, calendar: UnitCalendar, first: date, last: date):
        now = timezone.now()
        slots = (
            Slot.objects.between(unit, first, last)
            .filter(start__gte=now)
            .with_booked_count()
            .filter(booked_count__lt=F("places"))
            .exclude(template__active=False)  # a session the unit no longer runs
            .order_by("start")
        )
        self.slots = []
        for slot in slots:
            slot.unit = unit  # for local_date without another query
            # Closures added since the slots were generated still close the day.
            if not calendar.closure_reason(slot.local_date):
                self.slots.append(slot)

    def first(
        self, first: date, last: date, *, limit: int = 3, avoid_days=frozenset()
    ) -> list[Slot]:
        found = []
        for slot in self.slots:
            day = slot.local_date
            if first <= day <= last and day not in avoid_days:
                found.append(slot)
                if len(found) == limit:
                    break
        return found

    def between(self, first: date, last: date, *, avoid_days=frozenset()) -> list[Slot]:
        """Every free slot from `first` to `last`, in time order."""
        return [
            slot
            for slot in self.slots
            if first <= slot.local_date <= last and slot.local_date not in avoid_days
        ]


# The unit's daily load (issue 19 item 3) ------------------------------------------------------


@dataclass
class DayLoad:
    """One open day's load: places offered and places booked (a booked, arrived or given
    patient holds a place, `Booking.PLACE_STATUSES`). Places-based for now; the resources
    (beds, operators, imaging) add their own counts, and `scarcest` is then the fullest of
    them. `target` is the unit's `load_target_percent` as a fraction."""

    date: date
    places: int = 0
    booked: int = 0
    target: float = 0.85

    @property
    def free(self) -> int:
        return max(self.places - self.booked, 0)

    @property
    def scarcest(self) -> float:
        """The share of the scarcest resource already used (1.0 when nothing is offered)."""
        return self.booked / self.places if self.places else 1.0

    @property
    def target_places(self) -> float:
        return self.places * self.target

    def deviation_change(self, extra: int = 1) -> float:
        """How much booking `extra` more places here moves the day's load away from its
        target, in places: −1 for each place still at or under the target, +1 for each over
        it (in between for the place that crosses it). The suggestion rule
        (`planning.suggestions.level_key`) ranks days by this change, so the unit's daily
        loads stay closest to target."""
        target = self.target_places
        return abs(self.booked + extra - target) - abs(self.booked - target)

    @property
    def reason(self) -> str:
        """What a nurse reads beside a suggestion: "Tue 8 Dec 2026: 5 of 8 places booked,
        3 free"."""
        return (
            f"{format_day(self.date)}: {self.booked} of {self.places} "
            f"place{'' if self.places == 1 else 's'} booked, {self.free} free"
        )


def day_loads(
    unit: Unit, start: date, end: date, *, calendar: UnitCalendar | None = None
) -> dict[date, DayLoad]:
    """{open day: DayLoad} from `start` to `end`, inclusive, in one query: the places of the
    slots the unit still runs on each day it is open, and the places booked in them. A day
    closed since its slots were made, or with no slot, is left out (it takes no booking).
    `calendar`: the unit's calendar over those days, when the caller has it already."""
    calendar = calendar or unit.calendar(start, end)
    target = unit.load_target_percent / 100
    loads: dict[date, DayLoad] = {}
    slots = (
        Slot.objects.between(unit, start, end)
        .exclude(template__active=False)
        .with_booked_count()
        .only("start", "places", "unit_id")
    )
    for slot in slots:
        slot.unit = unit
        day = slot.local_date
        if calendar.closure_reason(day):
            continue
        load = loads.setdefault(day, DayLoad(day, target=target))
        load.places += slot.places
        load.booked += slot.booked_count
    return loads


# How far ahead unbooked doses are kept for the capacity forecast.
PROJECTION_WEEKS = 26
FORECAST_MAX_WEEKS = 26


@dataclass
class ForecastDay:
    """One open day: places offered, doses booked, and doses due (or projected) that day that
    nobody has booked yet."""

    date: date
    places: int
    booked: int
    due_unbooked: int

    @property
    def over_capacity(self) -> bool:
        return self.booked + self.due_unbooked > self.places

    @property
    def spare(self) -> int:
        return self.places - self.booked - self.due_unbooked

    @property
    def over_by(self) -> int:
        return max(-self.spare, 0)

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "places": self.places,
            "booked": self.booked,
            "due_unbooked": self.due_unbooked,
            "over_capacity": self.over_capacity,
        }


def _demand_day(day: date, window_end: date, calendar: UnitCalendar, today: date) -> date:
    """The day an unbooked dose lands on: its date, or the next open day in its window (a due
    date on a weekend is booked on the next open day); never before today."""
    day = max(day, today)
    probe = day
    while probe <= window_end:
        if calendar.is_open(probe):
            return probe
        probe += timedelta(days=1)
    return day


def forecast(
    unit: Unit, first: date, last: date, *, today: date | None = None
) -> list[ForecastDay]:
    """Per open day from `first` to `last`: places, booked, due but unbooked.

    1. Places and bookings: the unit's slots (one aggregate query); a closed day offers none.
    2. Demand: the unbooked doses kept beside each active course (`ProjectedDose`, written
       with the outlook; no course is planned here), each counted once, on the day it lands:
       its date, or the next open day in its window; an overdue dose on the first open day
       from today (as soon as possible, DESIGN §2).
    3. A day is over capacity when booked + due unbooked exceed its places.
    """
    today = today or timezone.localdate()
    calendar = unit.calendar(min(first, today), last + timedelta(days=14))
    days: dict[date, ForecastDay] = {}
    for slot in Slot.objects.between(unit, first, last).with_booked_count():
        slot.unit = unit
        day = slot.local_date
        entry = days.setdefault(day, ForecastDay(day, 0, 0, 0))
        entry.booked += slot.booked_count
        if calendar.is_open(day):  # a day closed since its slots were made offers none
            entry.places += slot.places
    probe = first
    while probe <= last:
        if calendar.is_open(probe):
            days.setdefault(probe, ForecastDay(probe, 0, 0, 0))
        probe += timedelta(days=1)
    projected = ProjectedDose.objects.filter(
        course__status=TreatmentCourse.Status.ACTIVE, on__lte=last
    ).values_list("on", "window_end", "overdue")
    for on, window_end, overdue in projected:
        day = _demand_day(today if overdue else on, max(window_end, today), calendar, today)
        if first <= day <= last:
            days.setdefault(day, ForecastDay(day, 0, 0, 0)).due_unbooked += 1
    return [days[day] for day in sorted(days)]


@dataclass
class WeekLoad:
    first: date
    places: int
    booked: int
    due_unbooked: int

    @property
    def cannot_fit(self) -> bool:
        """More doses due this week than places left: some will fall outside their window."""
        return self.due_unbooked > self.places - self.booked


def weeks_of(days: list[ForecastDay]) -> list[WeekLoad]:
    weeks: dict[date, WeekLoad] = {}
    for day in days:
        monday = day.date - timedelta(days=day.date.weekday())
        week = weeks.setdefault(monday, WeekLoad(monday, 0, 0, 0))
        week.places += day.places
        week.booked += day.booked
        week.due_unbooked += day.due_unbooked
    return [weeks[monday] for monday in sorted(weeks)]


# A new patient's first four weeks: loading doses on days 0, 14 and 28 (US PI §2.1), so up to
# three visits in the month they start.
VISITS_IN_FIRST_MONTH = engine.LOADING_DOSE_COUNT


@dataclass
class StartCapacity:
    """ "How many more patients can we start next month?" with how it was worked out."""

    first: date
    last: date
    places: int
    booked: int
    due_unbooked: int
    spare: int
    patients: int
    visits_each: int = VISITS_IN_FIRST_MONTH

    @property
    def sentence(self) -> str:
        return (
            f"{self.first:%B %Y}: about {self.patients} more patient(s) can start. "
            f"{self.places} places − {self.booked} booked − {self.due_unbooked} due but not "
            f"yet booked = {self.spare} spare; each new patient needs {self.visits_each} "
            f"loading visits in the first four weeks (days 0, 14 and 28)."
        )


def start_capacity(unit: Unit, *, today: date | None = None) -> StartCapacity:
    """Spare places next calendar month (places − booked − due unbooked, days over capacity
    counting none), divided by the three loading visits a new patient needs in that month."""
    today = today or timezone.localdate()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    days = forecast(unit, first, last, today=today)
    spare = sum(max(day.spare, 0) for day in days)
    return StartCapacity(
        first=first,
        last=last,
        places=sum(day.places for day in days),
        booked=sum(day.booked for day in days),
        due_unbooked=sum(day.due_unbooked for day in days),
        spare=spare,
        patients=spare // VISITS_IN_FIRST_MONTH,
    )


@dataclass
class ForecastReport:
    days: list[ForecastDay]
    weeks: list[WeekLoad]
    start: StartCapacity


def forecast_report(unit: Unit, *, weeks: int, today: date | None = None) -> ForecastReport:
    """The forecast page and command: `weeks` from today, by day and by week, and the answer
    to "how many more patients can we start next month?"."""
    today = today or timezone.localdate()
    days = forecast(unit, today, today + timedelta(weeks=weeks, days=-1), today=today)
    return ForecastReport(days, weeks_of(days), start_capacity(unit, today=today))


def bookings_between(unit: Unit, first: date, last: date) -> list[Booking]:
    """Active bookings on the unit's days `first` to `last`: what closing those days leaves
    to be rescheduled (a closure never cancels a booking; a nurse moves each one)."""
    return list(
        Booking.objects.active()
        .filter(slot__in=Slot.objects.between(unit, first, last))
        .select_related("dose__course__patient", "slot__unit")
        .order_by("slot__start", "pk")
    )


# The calendar pages ----------------------------------------------------------------------------

_EMPTY_DAY = {"booked": 0, "places": 0, "slots": 0, "attended": 0, "noshow": 0, "unrecorded": 0}


def _day_totals(unit: Unit, first: date, last: date) -> dict[date, dict]:
    """Per day: places offered and booked, and for past days what happened, from the facts in
    one query (the forecast only looks forward): who came (arrived, given or not given), who
    did not attend, and bookings with no outcome yet."""
    statuses = Booking.Status
    came = [statuses.ARRIVED, statuses.FULFILLED, statuses.NOT_GIVEN]
    slots = (
        Slot.objects.between(unit, first, last)
        .with_booked_count()
        .annotate(
            attended=Count("bookings", filter=Q(bookings__status__in=came)),
            noshow=Count("bookings", filter=Q(bookings__status=statuses.NOSHOW)),
            unrecorded=Count("bookings", filter=Q(bookings__status=statuses.BOOKED)),
        )
    )
    totals = defaultdict(lambda: dict(_EMPTY_DAY))
    for slot in slots:
        slot.unit = unit
        total = totals[slot.local_date]
        total["booked"] += slot.booked_count
        total["places"] += slot.places
        total["slots"] += 1
        total["attended"] += slot.attended
        total["noshow"] += slot.noshow
        total["unrecorded"] += slot.unrecorded
    return totals


def _month_cell(day: date, *, first: date, today: date, closed: str, totals: dict, due) -> dict:
    """One day of the month: its counts, and its load for the heat map. A closed day is
    closed, never "Full"; a past day's load is the places that were used (who came, who did
    not, and any still unrecorded, listed on Overdue & rebook); a day to come loads booked
    plus due but not yet booked, against places."""
    cell = {
        "date": day,
        "in_month": day.month == first.month,
        "is_today": day == today,
        "closed": closed,
        "weekend": day.weekday() >= 5,
        **totals,
    }
    cell["due_unbooked"] = due or None
    cell["past"] = day < today
    if cell["past"]:
        cell["full"] = False
        load = cell["attended"] + cell["noshow"] + cell["unrecorded"]
    else:
        cell["full"] = bool(cell["places"]) and cell["booked"] >= cell["places"] and not closed
        load = cell["booked"] + (due or 0)
    cell["load"] = grid.load_level(load, cell["places"])
    return cell


def month_grid(unit: Unit, first: date, *, today: date) -> list[list[dict]]:
    """The month of `first` as weeks of day cells: places booked of places offered, what
    happened on past days, closures and bank holidays, and the demand not yet booked (from
    the forecast, today onwards: the past has none)."""
    weeks = grid.month_weeks(first)
    grid_first, grid_last = weeks[0][0], weeks[-1][-1]
    totals = _day_totals(unit, grid_first, grid_last)
    calendar = unit.calendar(grid_first, grid_last)
    demand = {}
    if grid_last >= today:
        days = forecast(unit, max(grid_first, today), grid_last, today=today)
        demand = {day.date: day.due_unbooked for day in days}
    return [
        [
            _month_cell(
                day,
                first=first,
                today=today,
                closed=calendar.closure_reason(day),
                totals=totals.get(day, _EMPTY_DAY),
                due=demand.get(day),
            )
            for day in week
        ]
        for week in weeks
    ]


def week_columns(unit: Unit, days: list[date], *, today: date, slots) -> list[dict]:
    """One column per day of the week with its slots (`slots`: the week's slots with their
    patients) and any closure."""
    calendar = unit.calendar(days[0], days[-1])
    by_day = defaultdict(list)
    for slot in slots:
        by_day[slot.local_date].append(slot)
    return [
        {
            "date": day,
            "is_today": day == today,
            "closed": calendar.closure_reason(day),
            "slots": by_day.get(day, []),
        }
        for day in days
    ]
