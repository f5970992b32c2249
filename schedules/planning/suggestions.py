"""Load-levelled booking suggestions (issue 19 item 3): for each of the next doses, chained,
the free slots of its window ranked best first, each with the reason a nurse reads.

The rule, unit policy (the labels give no tolerance, DESIGN §2): inside the dose's window,
as the engine gives it (never outside it), choose the day that keeps the unit's daily loads
closest to the unit's target (`Unit.load_target_percent`, default 85% of places): every day
the booking leaves nearer its target than before (or no further) is as good as any other,
so ties go to the earliest (the dose as close to due as possible); a day the booking pushes
further over target comes after them, the least-over first. Within a day, the earliest
slot. A slot on a day this dose's visit just ended "not given" (a failed lumbar puncture,
illness, checks) is never offered again for that dose.

The daily load is read once, by `schedules.unit.selectors.level_loads`.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from schedules import engine
from schedules.models import Booking, Slot, TreatmentCourse, Unit
from schedules.planning.plans import BOOKABLE_STATES, open_calendar, plan_course
from schedules.unit.loads import LevelLoad, level_loads
from schedules.unit.selectors import FreeSlots

__all__ = [
    "FreeSlots",
    "SlotOffer",
    "Suggestion",
    "failed_days",
    "level_key",
    "rank_offers",
    "suggest_slots",
]

# How many ranked choices each suggested dose keeps (the book pages' select and radio list).
OFFERS_PER_DOSE = 8


def level_key(load: LevelLoad, start, *, extra: int = 0) -> tuple:
    """The levelling order of one free slot (smaller is better): how far booking it moves
    its day away from the target (`LevelLoad.deviation_change`, in places, counting `extra`
    places already suggested that day), where a booking that leaves the day nearer its
    target than before (or no further) counts 0, so all such days tie and the earliest
    wins; then the earliest. Rounded so float noise never breaks a tie. Pure: the
    simulation ranks with the same key."""
    shifted = LevelLoad(load.date, load.places, load.booked + extra, load.target)
    return (max(round(shifted.deviation_change(1), 6), 0.0), start)


@dataclass(frozen=True)
class SlotOffer:
    """A free slot offered for one dose, with its day's load before this booking: why it is
    offered, in words a nurse reads on the page (never only in a tooltip)."""

    slot: Slot
    load: LevelLoad
    in_window: bool = True

    @property
    def pk(self) -> int:
        return self.slot.pk

    @property
    def start(self):
        return self.slot.start

    @property
    def places(self) -> int:
        return self.slot.places

    @property
    def free_places(self) -> int:
        return self.slot.places - self.slot.booked_count

    @property
    def reason(self) -> str:
        return self.load.reason

    @property
    def over_target(self) -> bool:
        """Booking here takes the day over the unit's target."""
        return self.load.booked + 1 > self.load.target_places + 1e-9


@dataclass
class Suggestion:
    """One dose of the chain: its plan (window counted from the slot suggested for the dose
    before), the best slot (None when its window has no free slot), why, and the other free
    slots of the window, best first (`options[0]` is `slot`)."""

    planned: engine.PlannedDose
    slot: Slot | None
    reason: str = ""
    options: list[SlotOffer] = field(default_factory=list)
    # The slot the nurse had chosen no longer fits this dose's window (an earlier dose of
    # the chain moved): `slot` is the best of the new window instead.
    replaced: Slot | None = None


def failed_days(course: TreatmentCourse) -> dict[int, set[date]]:
    """{dose number: days its visit ended "not given"}: a day a dose's visit just failed on
    is not offered again for it (issue 19 "Why": the failed slot came back pre-selected).
    One query."""
    days: dict[int, set[date]] = {}
    for number, start in Booking.objects.filter(
        dose__course=course, status=Booking.Status.NOT_GIVEN
    ).values_list("dose__number", "slot__start"):
        days.setdefault(number, set()).add(timezone.localdate(start))
    return days


def rank_offers(
    free: FreeSlots,
    loads: dict[date, LevelLoad],
    first: date,
    last: date,
    *,
    avoid_days=frozenset(),
    extra: dict[date, int] | None = None,
    levelled: bool = True,
) -> list[SlotOffer]:
    """The free slots from `first` to `last`, best first: levelled (`level_key`) or, with
    `levelled=False`, the first free (time order; the simulation's baseline)."""
    extra = extra or {}
    offers = []
    for slot in free.between(first, last, avoid_days=avoid_days):
        day = slot.local_date
        load = loads.get(day)
        if load is None:  # a day level_loads leaves out takes no booking
            continue
        offers.append(SlotOffer(slot, load))
    if levelled:
        offers.sort(key=lambda o: level_key(o.load, o.slot.start, extra=extra.get(o.load.date, 0)))
    return offers


def suggest_slots(
    *,
    course: TreatmentCourse,
    unit: Unit,
    count: int = 3,
    today: date | None = None,
    pinned: dict[int, Slot] | None = None,
    levelled: bool = True,
) -> list[Suggestion]:
    """The next `count` unbooked doses, chained: each dose's window is the engine's, counted
    from the slot suggested (or `pinned`: the nurse's choice, kept while it fits its window)
    for the dose before; in it, the free slots ranked best first (module docstring), each
    with its reason. Never a slot outside the window, never one on a day this dose's visit
    ended "not given".

    `course` needs `facts.planning_prefetch()`. Stops at the first dose with no free slot in
    its window (later ones depend on it). Raises `ScheduleError` for a contradictory history.
    Queries: the calendar, the free slots, the day loads and the failed visits, whatever the
    number of patients.
    """
    today = today or timezone.localdate()
    pinned = pinned or {}
    calendar = open_calendar(unit, today)
    policy = unit.policy
    horizon = timedelta(days=count * engine.MAINTENANCE_INTERVAL_DAYS + policy.flag_late_days + 14)
    last_day = today + horizon
    free = FreeSlots(unit=unit, calendar=calendar, first=today, last=last_day)
    loads = level_loads(unit, today, last_day, calendar=calendar)
    failed = failed_days(course)
    extra: dict[int, date] = {}
    suggested_per_day: dict[date, int] = {}
    suggestions = []
    for _ in range(count):
        plan = plan_course(course, unit=unit, calendar=calendar, today=today, extra_booked=extra)
        pending = next((p for p in plan if p.state in BOOKABLE_STATES), None)
        if pending is None:
            break
        offers = rank_offers(
            free,
            loads,
            max(pending.window_start, today),
            pending.window_end,
            avoid_days=failed.get(pending.number, frozenset()),
            extra=suggested_per_day,
            levelled=levelled,
        )
        chosen = pinned.get(pending.number)
        suggestion = Suggestion(pending, None, options=offers[:OFFERS_PER_DOSE])
        if chosen is not None:
            offer = next((o for o in offers if o.pk == chosen.pk), None)
            if offer is not None:
                suggestion.options = [offer, *(o for o in suggestion.options if o is not offer)]
            else:
                suggestion.replaced = chosen
        if suggestion.options:
            suggestion.slot = suggestion.options[0].slot
            suggestion.reason = suggestion.options[0].reason
        suggestions.append(suggestion)
        if suggestion.slot is None:
            break
        day = suggestion.slot.local_date
        extra[pending.number] = day
        suggested_per_day[day] = suggested_per_day.get(day, 0) + 1
    return suggestions
