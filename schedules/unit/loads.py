"""The unit's daily load against its people and places (issue 19): places, beds over the
visit's length, lumbar-puncture operators on the rota and imaging lists, per session and per
day, with the doses due but not yet booked. The one home of the numbers the capacity page, the
month heat map, `capacity_forecast --json` and the levelled suggestions read. Read only."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from schedules.models import ProjectedDose, Slot, TreatmentCourse, Unit, UnitCalendar
from schedules.unit import resources
from tofersen_scheduler.dates import format_day

# The unit's target daily load (issue 19 items 3 and 6): a share of its scarcest resource.
LOAD_TARGET_BAND = 10  # "within ±10% of target" (issue 19 item 6), percentage points


def load_target(unit: Unit) -> int:
    """The unit's target load, in percent of its scarcest resource (default 85)."""
    return unit.load_target_percent


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
