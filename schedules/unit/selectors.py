"""The unit's calendar and capacity, read only: free slots, bookings on given days, the
demand-and-capacity forecast (its numbers from `schedules.unit.loads`), and the month grid and
week columns of the calendar pages."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from schedules import engine
from schedules.models import Booking, Slot, Unit, UnitCalendar
from schedules.unit import grid
from schedules.unit.loads import (
    DayLoad,
    day_loads,
    load_target,
)


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


PROJECTION_WEEKS = 26
FORECAST_MAX_WEEKS = 26


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


def weeks_of(days: list[DayLoad]) -> list[WeekLoad]:
    """Each week's open days added up (a closed day's bookings are for rescheduling, not
    capacity), places being the visits the scarcest resource allows."""
    weeks: dict[date, WeekLoad] = {}
    for day in days:
        if day.closed:
            continue
        monday = day.date - timedelta(days=day.date.weekday())
        week = weeks.setdefault(monday, WeekLoad(monday, 0, 0, 0))
        week.places += day.capacity
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
    days = [day for day in day_loads(unit, first, last, today=today).values() if not day.closed]
    spare = sum(max(day.spare, 0) for day in days)
    return StartCapacity(
        first=first,
        last=last,
        places=sum(day.capacity for day in days),
        booked=sum(day.booked for day in days),
        due_unbooked=sum(day.due_unbooked for day in days),
        spare=spare,
        patients=spare // VISITS_IN_FIRST_MONTH,
    )


@dataclass
class ForecastReport:
    days: list[DayLoad]
    weeks: list[WeekLoad]
    start: StartCapacity
    target: int

    @property
    def open_days(self) -> list[DayLoad]:
        return [day for day in self.days if not day.closed and day.capacity]

    @property
    def within_target(self) -> tuple[int, int]:
        """(open days whose expected load is within ±10 points of the target, open days)."""
        days = self.open_days
        return sum(day.within_target(self.target) for day in days), len(days)


def forecast_report(unit: Unit, *, weeks: int, today: date | None = None) -> ForecastReport:
    """The forecast page and command: `weeks` from today, by day and by week, and the answer
    to "how many more patients can we start next month?"."""
    today = today or timezone.localdate()
    loads = day_loads(unit, today, today + timedelta(weeks=weeks, days=-1), today=today)
    days = list(loads.values())
    return ForecastReport(
        days, weeks_of(days), start_capacity(unit, today=today), target=load_target(unit)
    )


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


def _month_cell(
    day: date, *, first: date, today: date, closed: str, totals: dict, load: DayLoad | None
) -> dict:
    """One day of the month: its counts, and its load for the heat map. A closed day is
    closed, never "Full"; a past day's load is the places that were used (who came, who did
    not, and any still unrecorded, listed on Overdue & rebook); a day to come loads booked
    plus due but not yet booked against the capacity of its scarcest resource (`day_loads`,
    the capacity page's numbers)."""
    due = load.due_unbooked if load is not None else 0
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
        used = cell["attended"] + cell["noshow"] + cell["unrecorded"]
        cell["load"] = grid.load_level(used, cell["places"])
    else:
        capacity = load.capacity if load is not None else 0
        cell["capacity"] = capacity
        cell["full"] = bool(capacity) and cell["booked"] >= capacity and not closed
        cell["load"] = grid.load_level(cell["booked"] + due, capacity)
    return cell


def month_grid(unit: Unit, first: date, *, today: date) -> list[list[dict]]:
    """The month of `first` as weeks of day cells: places booked of places offered, what
    happened on past days, closures and bank holidays, and the demand not yet booked (from
    the forecast, today onwards: the past has none)."""
    weeks = grid.month_weeks(first)
    grid_first, grid_last = weeks[0][0], weeks[-1][-1]
    totals = _day_totals(unit, grid_first, grid_last)
    calendar = unit.calendar(grid_first, grid_last)
    loads = {}
    if grid_last >= today:
        loads = day_loads(unit, max(grid_first, today), grid_last, today=today)
    return [
        [
            _month_cell(
                day,
                first=first,
                today=today,
                closed=calendar.closure_reason(day),
                totals=totals.get(day, _EMPTY_DAY),
                load=loads.get(day),
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


# The measures of the capacity page (issue 19 item 6) -----------------------------------------

MEASURES_LOOK_BACK_WEEKS = 12


@dataclass(frozen=True)
class CapacityMeasures:
    """Notice and late doses over a period (`first` to `last`): the last 12 weeks and the
    weeks the page shows. From the quality measures' facts (issue 21), so both pages agree:
    notice = days from the booking being made to the visit's day, for bookings not cancelled;
    late = doses given after their window's last day (unit policy, DESIGN §2), and by how many
    days after due."""

    first: date
    last: date
    notice_days: object  # quality.measures.Spread
    notice_under_7_days: object  # quality.measures.Share
    doses_timed: int
    late_days: object  # Spread of days after due, late doses only

    @property
    def late(self) -> int:
        return self.late_days.count


def capacity_measures(unit: Unit, *, today: date, weeks: int) -> CapacityMeasures:
    # Imported here: the quality reads plan through `schedules.planning`, which re-exports
    # this module.
    from schedules.quality import measures

    period = measures.Period(
        today - timedelta(weeks=MEASURES_LOOK_BACK_WEEKS), today + timedelta(weeks=weeks)
    )
    facts = measures.load_facts(period, unit=unit, today=today)
    summary = measures.summarise(facts, period)
    timed = [row for row in facts.doses if row.given in period and row.timed]
    late = [(row.given - row.due).days for row in timed if row.given > row.window_end]
    return CapacityMeasures(
        first=period.first,
        last=period.last,
        notice_days=summary.notice_days,
        notice_under_7_days=summary.notice_under_7_days,
        doses_timed=len(timed),
        late_days=measures.Spread.of(late),
    )
