"""The unit's calendar and capacity, read only: free slots, bookings on given days, the
demand-and-capacity forecast, and the month grid and week columns of the calendar pages."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from schedules import engine
from schedules.models import Booking, ProjectedDose, Slot, TreatmentCourse, Unit, UnitCalendar
from schedules.unit import grid, resources
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


__all__ = [
    "DayLoad",
    "FreeSlots",
    "LevelLoad",
    "Resource",
    "SessionLoad",
    "day_loads",
    "level_loads",
    "load_target",
]


# The unit's daily load as the levelled suggestions read it (issue 19 item 3) -----------------


@dataclass
class LevelLoad:
    """One open day's load for levelling: the visits the day's scarcest resource allows
    (`places`: places, beds over the visit's length or operators on the rota, whichever runs
    out first; `DayLoad.capacity`) and the visits booked. `target` is the unit's
    `load_target_percent` as a fraction."""

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


def level_loads(
    unit: Unit, start: date, end: date, *, calendar: UnitCalendar | None = None
) -> dict[date, LevelLoad]:
    """{open day: LevelLoad} from `start` to `end`, inclusive, from `day_loads` (the one home
    of the unit's numbers) without the forecast of unbooked doses. A day closed since its
    slots were made, or offering nothing, is left out (it takes no booking).
    `calendar`: the unit's calendar over those days, when the caller has it already."""
    target = load_target(unit) / 100
    return {
        day: LevelLoad(day, load.capacity, load.booked, target)
        for day, load in day_loads(unit, start, end, calendar=calendar, demand=False).items()
        if not load.closed and load.capacity
    }


# How far ahead unbooked doses are kept for the capacity forecast.
PROJECTION_WEEKS = 26
FORECAST_MAX_WEEKS = 26


# The unit's target daily load (issue 19 item 3/6): a share of its scarcest resource. The
# `levelling` branch adds the unit setting `load_target_percent`; until it is merged every
# reader asks this one function.
DEFAULT_LOAD_TARGET_PERCENT = 85
LOAD_TARGET_BAND = 10  # "within ±10% of target" (issue 19 item 6), percentage points


def load_target(unit: Unit) -> int:
    """The unit's target load, in percent of its scarcest resource (default 85)."""
    return getattr(unit, "load_target_percent", None) or DEFAULT_LOAD_TARGET_PERCENT


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
    for day, count in _demand(first, last, calendar=calendar, today=today).items():
        days.setdefault(day, ForecastDay(day, 0, 0, 0)).due_unbooked += count
    return [days[day] for day in sorted(days)]


@dataclass(frozen=True)
class Resource:
    """How much of one resource a day or session uses: `used` of `capacity` visits, or
    `capacity` None when the unit does not count it (no beds set, rota not required)."""

    used: int
    capacity: int | None

    @property
    def counted(self) -> bool:
        return self.capacity is not None

    @property
    def fraction(self) -> float | None:
        if self.capacity is None:
            return None
        if not self.capacity:
            return float("inf") if self.used else 0.0
        return self.used / self.capacity

    def __str__(self):
        return "—" if self.capacity is None else f"{self.used} of {self.capacity}"


@dataclass
class SessionLoad:
    """One session of a day (a template's slots that day, or a one-off slot): its places and
    each resource in visits it can take (`schedules.unit.resources` for the rules)."""

    label: str
    places: Resource
    beds: Resource
    operators: Resource
    imaging: Resource
    on_rota: int  # operators on the rota with a valid competency (shown even when not counted)

    @property
    def booked(self) -> int:
        return self.places.used

    @property
    def capacity(self) -> int:
        return min(r.capacity for r in (self.places, self.beds, self.operators) if r.counted)

    @property
    def utilisation(self) -> int | None:
        return round(100 * self.booked / self.capacity) if self.capacity else None


@dataclass
class DayLoad:
    """One day's load against the unit's people and places (issue 19 item 6), the one home of
    the numbers the capacity page, the month heat map, `capacity_forecast --json` and the
    levelling suggestions read.

    - `places`, `beds`, `operators`: visits booked (`used`) of the visits that resource can
      take that day (`capacity`; None when the unit does not count it). Beds are counted over
      the visit's length; operators per slot from the rota.
    - `imaging`: patients needing image guidance booked, of the imaging lists' places.
    - `capacity`: the visits the scarcest of places, beds and operators allows.
    - `scarcest`: the fraction used of the scarcest resource (booked only, imaging included
      when the day has a list), None on a closed day or one offering nothing.
    - `expected`: as `scarcest`, counting the doses due but not yet booked that land that day.
    - A closed day (`closed`: the reason) is never over capacity.
    """

    date: date
    closed: str
    places: Resource
    beds: Resource
    operators: Resource
    imaging: Resource
    due_unbooked: int
    sessions: list[SessionLoad]

    @property
    def booked(self) -> int:
        return self.places.used

    @property
    def capacity(self) -> int:
        if self.closed:
            return 0
        return min(r.capacity for r in (self.places, self.beds, self.operators) if r.counted)

    def _fraction(self, extra: int) -> float | None:
        if self.closed or not self.capacity:
            return None
        fractions = [
            (r.used + extra) / r.capacity
            for r in (self.places, self.beds, self.operators)
            if r.counted and r.capacity
        ]
        if self.imaging.capacity:
            fractions.append(self.imaging.used / self.imaging.capacity)
        return max(fractions)

    @property
    def scarcest(self) -> float | None:
        return self._fraction(0)

    @property
    def expected(self) -> float | None:
        return self._fraction(self.due_unbooked)

    @property
    def utilisation(self) -> int | None:
        """Percent of the day's capacity booked."""
        return None if self.scarcest is None else round(100 * self.booked / self.capacity)

    @property
    def over_by(self) -> int:
        if self.closed:
            return 0
        return max(self.booked + self.due_unbooked - self.capacity, 0)

    @property
    def over_capacity(self) -> bool:
        return self.over_by > 0

    @property
    def spare(self) -> int:
        return 0 if self.closed else self.capacity - self.booked - self.due_unbooked

    def within_target(self, target: int) -> bool:
        expected = self.expected
        return expected is not None and abs(100 * expected - target) <= LOAD_TARGET_BAND

    def as_dict(self) -> dict:
        """`capacity_forecast --json` (DESIGN §4): the first five keys as before, then each
        resource as {used, capacity} and the utilisation percent."""

        def resource(r: Resource):
            return None if r.capacity is None else {"used": r.used, "capacity": r.capacity}

        return {
            "date": self.date.isoformat(),
            "places": self.places.capacity,
            "booked": self.booked,
            "due_unbooked": self.due_unbooked,
            "over_capacity": self.over_capacity,
            "beds": resource(self.beds),
            "operators": resource(self.operators),
            "imaging": resource(self.imaging),
            "utilisation": self.utilisation,
        }


def _session_load(unit: Unit, template, slots, operators, imaging: int, closed: bool):
    places = sum(0 if closed else slot.places for slot in slots)
    booked = sum(slot.booked_count for slot in slots)
    guided = sum(slot.guided_count for slot in slots)
    if template is not None and template.beds is not None and not closed:
        beds = Resource(
            booked, resources.bed_visits([(s.start, s.places) for s in slots], template.beds)
        )
    elif template is not None and template.beds is not None:
        beds = Resource(booked, 0)
    else:
        beds = Resource(booked, None)
    on_rota = len(operators.any) if operators else 0
    if unit.rota_required and template is not None:  # a one-off slot has no rota (rule 1)
        capacity = 0 if closed else sum(min(slot.places, on_rota) for slot in slots)
        operators_load = Resource(booked, capacity)
    else:
        operators_load = Resource(booked, None)
    first = timezone.localtime(slots[0].start, unit.zone)
    if template is not None:
        label = f"{first:%H:%M} session ({len(slots)} slot{'' if len(slots) == 1 else 's'})"
    else:
        label = f"{first:%H:%M} extra slot"
    return SessionLoad(
        label=label,
        places=Resource(booked, places),
        beds=beds,
        operators=operators_load,
        imaging=Resource(guided, 0 if closed else imaging),
        on_rota=on_rota,
    )


def day_loads(
    unit: Unit,
    start: date,
    end: date,
    *,
    today: date | None = None,
    calendar: UnitCalendar | None = None,
    demand: bool = True,
) -> dict[date, DayLoad]:
    """Per day from `start` to `end` (open days, and closed days that have slots): each
    resource used and offered, per session and for the day, and the doses due but unbooked
    (`forecast`). A fixed number of queries whatever the number of patients or days.

    For the `levelling` suggestions: `day_loads(unit, first, last)[day].scarcest` is the
    fraction of the day's scarcest resource already booked; compare with
    `load_target(unit) / 100` (`level_loads`).

    `demand=False` leaves out the doses due but unbooked (the suggestions do not need them);
    `calendar` then may be the caller's, over `start` to `end`."""
    today = today or timezone.localdate()
    if calendar is None or demand:
        calendar = unit.calendar(min(start, today), end + timedelta(days=14))
    slots = list(
        resources.with_resource_counts(Slot.objects.between(unit, start, end))
        .select_related("template")
        .order_by("start")
    )
    template_ids = {slot.template_id for slot in slots if slot.template_id}
    operators = resources.operators_on(template_ids, start, end)
    imaging = resources.imaging_places(template_ids, start, end)
    sessions: dict[date, dict] = defaultdict(dict)
    for slot in slots:
        slot.unit = unit
        key = slot.template_id or f"slot-{slot.pk}"
        sessions[slot.local_date].setdefault(key, []).append(slot)
    unbooked = _demand(start, end, calendar=calendar, today=today) if demand else {}
    loads: dict[date, DayLoad] = {}
    day = start
    while day <= end:
        closed = calendar.closure_reason(day)
        if not closed and not calendar.is_open(day):
            closed = "No session runs that day" if day in sessions else ""
            if not closed:
                day += timedelta(days=1)
                continue
        if closed and day not in sessions:
            day += timedelta(days=1)
            continue
        session_list = [
            _session_load(
                unit,
                group[0].template,
                group,
                operators.get((group[0].template_id, day)),
                imaging.get((group[0].template_id, day), 0),
                bool(closed),
            )
            for group in sessions.get(day, {}).values()
        ]
        total = {
            "places": Resource(
                sum(s.places.used for s in session_list),
                sum(s.places.capacity for s in session_list),
            ),
            "imaging": Resource(
                sum(s.imaging.used for s in session_list),
                sum(s.imaging.capacity for s in session_list),
            ),
        }
        for name in ("beds", "operators"):
            # Counted for the day when any session counts it; a session that does not
            # (no beds set, a one-off slot) is limited by its places alone.
            parts = [getattr(s, name) for s in session_list]
            used = sum(part.used for part in parts)
            if any(part.counted for part in parts):
                total[name] = Resource(
                    used,
                    sum(
                        part.capacity if part.counted else s.places.capacity
                        for part, s in zip(parts, session_list, strict=True)
                    ),
                )
            else:
                total[name] = Resource(used, None)
        loads[day] = DayLoad(
            date=day,
            closed=closed,
            due_unbooked=0 if closed else unbooked.get(day, 0),
            sessions=session_list,
            **total,
        )
        day += timedelta(days=1)
    return loads


def _demand(first: date, last: date, *, calendar: UnitCalendar, today: date) -> dict[date, int]:
    """Doses due (or projected) but not booked, per day they land on (`forecast` step 2);
    `calendar` must reach from today to 14 days past `last`."""
    demand: dict[date, int] = defaultdict(int)
    projected = ProjectedDose.objects.filter(
        course__status=TreatmentCourse.Status.ACTIVE, on__lte=last
    ).values_list("on", "window_end", "overdue")
    for on, window_end, overdue in projected:
        day = _demand_day(today if overdue else on, max(window_end, today), calendar, today)
        if first <= day <= last:
            demand[day] += 1
    return demand


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
    target: int = DEFAULT_LOAD_TARGET_PERCENT

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
