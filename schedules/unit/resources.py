"""Reads of the unit's people and places (issue 19 items 1, 2 and 6): a slot's session, who is
on its rota with a valid competency, the beds its visits hold over their length, and what
refuses a booking or an operator. Read only: `schedules.booking.services` raises the errors,
under the lock order of `schedules.locks` (the session's slots are locked, by id, before these
counts are read, so two bookings cannot both take the last bed or operator).

Rules (DESIGN §2, §3 "Capacity is people and places"):

1. A session on a day is a session template's slots on that local day; they share its beds,
   rota and imaging list. A one-off slot is a session of its own with no limit but its places.
2. Beds: a visit holds a bed from its slot's start for `VISIT_BED_MINUTES` (procedure plus the
   leaflet's 60–90 minutes of observation), so slots whose visits overlap share the beds.
3. Operators (when the unit's `rota_required` is on): each slot takes at most as many patients
   as operators on the session's rota with a competency valid on the day; an operator does one
   lumbar puncture per slot.
4. Image guidance: a patient flagged `needs_image_guidance` books only into a session with an
   imaging list that has a place left and an image-guided operator on the rota free in the
   slot (an image-guided competency also covers an unguided one).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q

from schedules.models import (
    VISIT_BED_MINUTES,
    Booking,
    Competency,
    ImagingList,
    RotaEntry,
    Slot,
)
from tofersen_scheduler.dates import format_day

VISIT_LENGTH = timedelta(minutes=VISIT_BED_MINUTES)
GUIDED = Competency.Procedure.IMAGE_GUIDED


def session_slots(slot: Slot):
    """The slots of `slot`'s session (rule 1), `slot` included."""
    if slot.template_id is None:
        return Slot.objects.filter(pk=slot.pk)
    return Slot.objects.on_day(slot.unit, slot.local_date).filter(template_id=slot.template_id)


def peak_beds(starts: list[datetime], start: datetime) -> int:
    """Most visits holding a bed at one time while a visit starting at `start` is in the unit,
    that visit included (`starts`: the other visits' start times, one per visit; rule 2)."""
    overlapping = [s for s in starts if s < start + VISIT_LENGTH and start < s + VISIT_LENGTH]
    overlapping.append(start)
    points = {start} | {s for s in overlapping if start <= s < start + VISIT_LENGTH}
    return max(sum(1 for s in overlapping if s <= t < s + VISIT_LENGTH) for t in points)


def bed_visits(slots: list[tuple[datetime, int]], beds: int) -> int:
    """How many visits a session's beds can take: slots (start, places) filled earliest first,
    each as far as its places and the beds free over the visit allow (for visits of equal
    length, earliest first is the most that fit)."""
    taken: list[datetime] = []
    for start, places in sorted(slots):
        for _ in range(places):
            if peak_beds(taken, start) > beds:
                break
            taken.append(start)
    return len(taken)


@dataclass(frozen=True)
class Operators:
    """The operators on a session's rota whose competency is valid on the day."""

    any: frozenset[int]
    guided: frozenset[int]


def operators_on(template_ids, first: date, last: date) -> dict[tuple[int, date], Operators]:
    """Per (session template, day): the operators on the rota with a valid competency (two
    queries, whatever the number of days; none without sessions or rota)."""
    if not template_ids:
        return {}
    rota = list(
        RotaEntry.objects.filter(
            template_id__in=template_ids, day__gte=first, day__lte=last
        ).values_list("template_id", "day", "operator_id")
    )
    if not rota:
        return {}
    competencies = defaultdict(list)
    for operator_id, procedure, signed, until in Competency.objects.filter(
        operator_id__in={row[2] for row in rota}, valid_until__gte=first, signed_off_on__lte=last
    ).values_list("operator_id", "procedure", "signed_off_on", "valid_until"):
        competencies[operator_id].append((procedure, signed, until))
    found: dict[tuple[int, date], tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for template_id, day, operator_id in rota:
        valid = [p for p, signed, until in competencies[operator_id] if signed <= day <= until]
        if valid:
            found[(template_id, day)][0].add(operator_id)
            if GUIDED in valid:
                found[(template_id, day)][1].add(operator_id)
    return {key: Operators(frozenset(a), frozenset(g)) for key, (a, g) in found.items()}


def imaging_places(template_ids, first: date, last: date) -> dict[tuple[int, date], int]:
    if not template_ids:
        return {}
    return {
        (template_id, day): places
        for template_id, day, places in ImagingList.objects.filter(
            template_id__in=template_ids, day__gte=first, day__lte=last
        ).values_list("template_id", "day", "places")
    }


def with_resource_counts(slots):
    """Each slot with `booked_count` (places held) and `guided_count` (of those, patients who
    need image guidance)."""
    return slots.with_booked_count().annotate(
        guided_count=Count(
            "bookings",
            filter=Q(
                bookings__status__in=Booking.PLACE_STATUSES,
                bookings__dose__course__patient__needs_image_guidance=True,
            ),
        )
    )


@dataclass(frozen=True)
class Refusal:
    resource: str  # "bed", "operator" or "imaging"
    message: str


def booking_refusal(slot: Slot, patient) -> Refusal | None:
    """Why `slot` cannot take one more patient for want of a bed, an operator or imaging
    (rules 2–4), or None. The caller holds the session's slot locks."""
    template = slot.template
    if template is None:
        return None
    session = list(with_resource_counts(session_slots(slot)))
    here = next(s for s in session if s.pk == slot.pk)
    day = slot.local_date
    operators = operators_on([template.pk], day, day).get(
        (template.pk, day), Operators(frozenset(), frozenset())
    )
    return (
        bed_refusal(slot, session)
        or operator_shortage(slot, here, operators, patient)
        or imaging_refusal(slot, session, here, operators, patient)
    )


def bed_refusal(slot: Slot, session) -> Refusal | None:
    """Rule 2: a bed free for the whole visit, counting the session's overlapping visits."""
    beds = slot.template.beds
    if beds is None:
        return None
    starts = [s.start for s in session for _ in range(s.booked_count)]
    if peak_beds(starts, slot.start) <= beds:
        return None
    until = (slot.start + VISIT_LENGTH).astimezone(slot.unit.zone)
    return Refusal(
        "bed",
        f"No bed or chair is free for observation after {slot}: the session's {beds} are "
        f"all taken before {until:%H:%M}. Choose another slot.",
    )


def operator_shortage(slot: Slot, here, operators: Operators, patient) -> Refusal | None:
    """Rule 3: an operator on the rota, competent that day, free in the slot."""
    if not (slot.unit.rota_required or patient.needs_image_guidance):
        return None
    if not operators.any:
        return Refusal(
            "operator",
            f"No lumbar-puncture operator with a valid competency is on the rota for {slot}: "
            "add one to the rota or choose another slot.",
        )
    if here.booked_count >= len(operators.any):
        booked = here.booked_count
        return Refusal(
            "operator",
            f"No lumbar-puncture operator is free at {slot}: {len(operators.any)} on the rota, "
            f"{booked} patient{'' if booked == 1 else 's'} booked. Choose another slot.",
        )
    return None


def imaging_refusal(slot: Slot, session, here, operators: Operators, patient) -> Refusal | None:
    """Rule 4: for a patient who needs image guidance, an imaging list with a place left and
    an image-guided operator free in the slot."""
    if not patient.needs_image_guidance:
        return None
    name, day = patient.full_name, slot.local_date
    places = imaging_places([slot.template_id], day, day).get((slot.template_id, day))
    if not places:
        return Refusal(
            "imaging",
            f"{name} needs image guidance: there is no imaging list on {format_day(day)} in "
            "that session. Choose a session with one.",
        )
    if sum(s.guided_count for s in session) >= places:
        return Refusal(
            "imaging",
            f"{name} needs image guidance: the imaging list on {format_day(day)} is full "
            f"({places} place{'' if places == 1 else 's'}). Choose another session.",
        )
    if here.guided_count >= len(operators.guided):
        return Refusal(
            "imaging",
            f"{name} needs image guidance: no operator with an image-guided competency valid "
            f"on {format_day(day)} is free at {slot}. Choose another slot.",
        )
    return None


def operator_refusal(booking: Booking, operator) -> str | None:
    """Why `operator` cannot perform `booking`'s lumbar puncture, or None: on the session's
    rota, with a competency valid on the visit's day (image-guided for a patient who needs
    it), and not already doing another patient's in the slot."""
    slot, day = booking.slot, booking.local_date
    who = operator.get_full_name() or operator.get_username()
    valid = Competency.objects.filter(operator=operator).valid_on(day)
    patient = booking.dose.course.patient
    if not valid.exists():
        last = Competency.objects.filter(operator=operator).order_by("-valid_until").first()
        if last is None:
            return f"{who} has no lumbar-puncture competency on the register."
        return (
            f"{who}'s lumbar-puncture competency is not valid on {format_day(day)} (valid "
            f"until {format_day(last.valid_until)}): assign someone else or renew it."
        )
    if patient.needs_image_guidance and not valid.filter(procedure=GUIDED).exists():
        return (
            f"{patient.full_name} needs image guidance and {who} has no image-guided "
            f"competency valid on {format_day(day)}."
        )
    if (
        slot.template_id is None
        or not RotaEntry.objects.filter(
            template_id=slot.template_id, day=day, operator=operator
        ).exists()
    ):
        return f"{who} is not on the rota for {slot}: add them to the rota first."
    busy = (
        Booking.objects.active()
        .filter(slot=slot, operator=operator)
        .exclude(pk=booking.pk)
        .exists()
    )
    if busy:
        return f"{who} already has a patient at {slot}."
    return None


def operator_warning(booking: Booking, competencies: list[Competency]) -> str:
    """What the flow board says about a booking's operator (`competencies`: that operator's,
    loaded with the board): nothing when fine, else why they may not do it that day."""
    operator = booking.operator
    if operator is None:
        return ""
    day = booking.local_date
    who = operator.get_full_name() or operator.get_username()
    valid = [c for c in competencies if c.signed_off_on <= day <= c.valid_until]
    if not valid:
        lapsed = max((c.valid_until for c in competencies), default=None)
        when = f" on {format_day(lapsed)}" if lapsed else ""
        return f"{who}'s competency lapsed{when}: assign another operator."
    if booking.dose.course.patient.needs_image_guidance and not any(
        c.procedure == GUIDED for c in valid
    ):
        return f"{who} is not signed off for image guidance: assign another operator."
    return ""


def rota_for(booking: Booking) -> list[tuple[object, list[Competency]]]:
    """The operators on the rota for `booking`'s session and day, each with their
    competencies (for the operator form: the service decides who may be assigned)."""
    slot = booking.slot
    if slot.template_id is None:
        return []
    entries = (
        RotaEntry.objects.filter(template_id=slot.template_id, day=booking.local_date)
        .select_related("operator")
        .prefetch_related("operator__competencies")
        .order_by("operator__last_name", "operator__username")
    )
    return [(entry.operator, list(entry.operator.competencies.all())) for entry in entries]


def competency_label(operator, competencies: list[Competency], day: date) -> str:
    """ "Dr Ada Byron — image-guided, valid until 3 Mar 2027" or "… — not valid on 5 Mar"."""
    who = operator.get_full_name() or operator.get_username()
    valid = [c for c in competencies if c.signed_off_on <= day <= c.valid_until]
    if not valid:
        return f"{who} — competency not valid on {format_day(day)}"
    guided = [c for c in valid if c.procedure == GUIDED]
    best = max(guided or valid, key=lambda c: c.valid_until)
    kind = "image-guided" if guided else "unguided only"
    return f"{who} — {kind}, valid until {format_day(best.valid_until)}"
