"""Calendars for patients and staff, built with `icalendar` (RFC 5545 / RFC 7986).

Privacy first: a patient's feed may be seen by anyone who glances at their phone or shares their
calendar, so it holds no health information: no drug or condition, no name, no numbers. The
summary is the unit's neutral `calendar_title`, the location its address, the description when
to arrive, how long the visit lasts and who to call if unwell afterwards (DESIGN §2 safety net).

Stable bytes: every timestamp in a calendar comes from a stored fact, so the bytes change only
when the data does; `schedules.feeds.freshness` computes the validators (ETag, Last-Modified)
from those facts in one query, so a conditional GET answers 304 without building anything.
"""

from __future__ import annotations

import calendar as month_calendar
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import timezone
from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vDuration,
)

from patients.models import Patient
from schedules import engine, planning
from schedules.models import (
    Booking,
    Dose,
    TreatmentCourse,
    Unit,
)
from tofersen_scheduler.dates import format_day

logger = logging.getLogger(__name__)

# Bump when the generator changes what it writes, so every client refetches.
FEED_FORMAT = "3"
PRODID = "-//Day-care unit scheduler//Appointment calendar 1.0//EN"
# A bounded window so the feed does not grow for ever (issue 4).
PAST_DAYS = 90
# Provisional (unbooked) doses shown ahead: half a year lets a patient plan without a long tail
# of dates that will move as soon as one visit does. The next one is always shown.
PROVISIONAL_DAYS = planning.PROVISIONAL_DAYS  # the letter's reach too
REFRESH = timedelta(hours=4)
# Shown (and shown as busy) in the patient's calendar: 20–30 min procedure, then 60–90 min
# observation (patient leaflet).
VISIT_LENGTH_TEXT = (
    "The visit lasts about 2 hours: the procedure, then 60 to 90 minutes' observation before "
    "you go home."
)
# Feed statuses: cancelled and did-not-attend bookings leave the feed (the dose then reappears
# as a provisional date with the same UID); given visits stay as history.
FEED_STATUSES = (Booking.Status.BOOKED, Booking.Status.ARRIVED, Booking.Status.FULFILLED)
# A namespace for the UIDs of provisional doses that have no Dose row yet.
PROVISIONAL_UID_NAMESPACE = uuid.UUID("7d0f3f2a-3c3e-4f0c-9b1e-7f2c5a9a1e10")


# Time zones ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    utc: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str

    @property
    def local(self) -> datetime:
        """Wall-clock time of the change, read in the offset in force before it (RFC 5545)."""
        return (self.utc + self.offset_from).replace(tzinfo=None)


def _transitions(zone: ZoneInfo, year: int) -> list[_Transition]:
    """The zone's UTC-offset changes in `year`, found by scanning days then bisecting seconds."""
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    offset = day.astimezone(zone).utcoffset()
    while day.year == year:
        following = day + timedelta(days=1)
        new_offset = following.astimezone(zone).utcoffset()
        if new_offset != offset:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            high = high.replace(microsecond=0)
            found.append(_Transition(high, offset, new_offset, high.astimezone(zone).tzname()))
            offset = new_offset
        day = following
    return found


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1–4, or -1 for last) `weekday` of a month."""
    if nth == -1:
        last = date(year, month, month_calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def _rule(transition: _Transition) -> tuple[int, int, int, time]:
    local = transition.local
    days_in_month = month_calendar.monthrange(local.year, local.month)[1]
    nth = -1 if local.day + 7 > days_in_month else (local.day - 1) // 7 + 1
    return local.month, local.weekday(), nth, local.time()


@lru_cache(maxsize=32)
def vtimezone(key: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for `key` valid from `first_year` to `last_year`.

    Why the RRULE form (one STANDARD and one DAYLIGHT block, each with a yearly rule): classic
    Outlook reads only that shape and ignores RDATE lists, and Google, Apple and Thunderbird
    read it too (it is what tzurl.org and Thunderbird itself publish). Local times with a TZID,
    rather than UTC, keep a 09:00 appointment at 09:00 in every client, and let clients show it
    in the unit's zone. The rule is derived from the system's tz database and checked against
    it for every year the calendar covers; if a zone changed its rules in that span, or has
    rules no yearly RRULE can express, we fall back to icalendar's exact RDATE form.
    """
    zone = ZoneInfo(key)
    years = range(first_year, last_year + 1)
    reference = _transitions(zone, first_year)
    component = Timezone()
    component.add("tzid", key)
    component.add("x-lic-location", key)
    if not reference and all(not _transitions(zone, year) for year in years):
        offset = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone).utcoffset()
        standard = TimezoneStandard()
        # RFC 5545 §3.6.5: a VTIMEZONE DTSTART is local time with no zone of its own.
        standard.add("dtstart", datetime(1970, 1, 1))  # noqa: DTZ001
        standard.add("tzoffsetfrom", offset)
        standard.add("tzoffsetto", offset)
        standard.add("tzname", datetime(first_year, 1, 1, tzinfo=zone).tzname())
        component.add_component(standard)
        return component
    if len(reference) == 2 and _rule_holds(zone, reference, years):
        for transition in reference:
            month, weekday, nth, at = _rule(transition)
            block = (
                TimezoneDaylight()
                if transition.offset_to > transition.offset_from
                else TimezoneStandard()
            )
            block.add("dtstart", datetime.combine(_nth_weekday(1970, month, weekday, nth), at))
            block.add(
                "rrule",
                {"freq": "yearly", "bymonth": month, "byday": f"{nth}{_BYDAY[weekday]}"},
            )
            block.add("tzoffsetfrom", transition.offset_from)
            block.add("tzoffsetto", transition.offset_to)
            block.add("tzname", transition.name)
            component.add_component(block)
        return component
    logger.info("Time zone %s has no simple yearly rule; using the RDATE form.", key)
    return Timezone.from_tzinfo(
        zone, tzid=key, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )


_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _rule_holds(zone: ZoneInfo, reference: list[_Transition], years: range) -> bool:
    rules = [(_rule(t), t.offset_from, t.offset_to) for t in reference]
    for year in years:
        actual = _transitions(zone, year)
        if len(actual) != len(rules):
            return False
        for transition, ((month, weekday, nth, at), offset_from, offset_to) in zip(
            actual, rules, strict=True
        ):
            expected = datetime.combine(_nth_weekday(year, month, weekday, nth), at)
            if (transition.local, transition.offset_from, transition.offset_to) != (
                expected,
                offset_from,
                offset_to,
            ):
                return False
    return True


# Events ----------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def safety_net(unit: Unit) -> str:
    """DESIGN §2, from the patient leaflet."""
    return (
        "If after your visit you have a severe headache, neck stiffness, changes in your vision, "
        f"or new numbness or weakness, contact the hospital immediately on {unit.phone}."
    )


def calendar_name(unit: Unit) -> str:
    title = unit.calendar_title.strip() or "Hospital appointment"
    return title if title.endswith("s") else f"{title}s"


def _alarm(trigger: timedelta, text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", trigger)
    return alarm


def arrival_time(booking: Booking, unit: Unit) -> datetime:
    """When the patient is asked to arrive, in the unit's zone."""
    start = booking.slot.start.astimezone(unit.zone)
    return start - timedelta(minutes=unit.arrive_minutes_before)


def _timed_event(booking: Booking, unit: Unit, *, uid: str, summary: str) -> Event:
    """The when and where of a visit, with timestamps from the booking and its dose."""
    dose = booking.dose
    changed = _utc(max(booking.updated_at, dose.updated_at))
    event = Event()
    event.add("uid", uid)
    event.add("sequence", dose.calendar_sequence)
    event.add("dtstamp", changed)
    event.add("created", _utc(booking.booked_at))
    event.add("last-modified", changed)
    event.add("summary", summary)
    event.add("dtstart", booking.slot.start.astimezone(unit.zone))
    event.add("dtend", booking.slot.end.astimezone(unit.zone))
    event.add("location", unit.address)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def admission_text(booking: Booking, unit: Unit) -> str:
    """When to come: the arrival time, or admission the day before (patient leaflet). No
    health information, like the rest of the event."""
    if booking.admission_day:
        return (
            f"You are admitted the day before, on {format_day(booking.admission_day)}: the "
            "unit will tell you the time."
        )
    return (
        f"Please arrive by {arrival_time(booking, unit):%H:%M} "
        f"({unit.arrive_minutes_before} minutes before)."
    )


ON_HOLD_TEXT = (
    "Your treatment is on hold while your doctors review it: do not come for this visit. "
    "We will call you to arrange your next visit."
)


def on_hold(booking: Booking) -> bool:
    """The visit (booked, or arrived: the dose cannot be given) belongs to a course held for
    review or paused (DESIGN §2: while held or paused the feed and the letter must not tell
    the patient to come). A held course keeps its bookings, flagged for the unit, until the
    clinician's decision."""
    return booking.status in Booking.ACTIVE_STATUSES and booking.dose.course.status in (
        TreatmentCourse.Status.HELD,
        TreatmentCourse.Status.PAUSED,
    )


def appointment_event(booking: Booking, unit: Unit) -> Event:
    """A patient's visit. UID is the dose's, stable across reschedules; SEQUENCE is the dose's
    counter, bumped by the booking services whenever the time or status changes (the course
    services bump it when the course is held or released). While the course is held or
    paused the visit is CANCELLED, with no reminder and "we will call you" (`on_hold`)."""
    title = unit.calendar_title
    event = _timed_event(booking, unit, uid=str(booking.dose.uid), summary=title)
    if on_hold(booking):
        event["status"] = "CANCELLED"
        event["summary"] = f"On hold: {title}"
        event.add("description", f"{ON_HOLD_TEXT}\n\n{safety_net(unit)}")
        event.add("class", "PRIVATE")
        return event
    start = booking.slot.start.astimezone(unit.zone)
    event.add(
        "description",
        f"{admission_text(booking, unit)}\n"
        f"{VISIT_LENGTH_TEXT}\n"
        f"To change this appointment call {unit.phone}.\n\n{safety_net(unit)}",
    )
    event.add("class", "PRIVATE")
    if booking.status != Booking.Status.FULFILLED:  # no reminders for a visit that happened
        event.add_component(_alarm(timedelta(days=-1), f"Tomorrow: {title} at {start:%H:%M}"))
        event.add_component(_alarm(timedelta(hours=-2), f"{title} at {start:%H:%M}"))
    return event


def staff_event(booking: Booking, unit: Unit) -> Event:
    """A visit in a member of staff's calendar: initials and hospital number, nothing more.
    Its own UID, so a client holding the patient's event too never merges the two."""
    patient = booking.dose.course.patient
    return _timed_event(
        booking,
        unit,
        uid=f"staff-{booking.dose.uid}",
        summary=f"{initials(patient)} {patient.hospital_number}",
    )


def provisional_event(
    planned: engine.PlannedDose,
    *,
    course: TreatmentCourse,
    dose: Dose | None,
    unit: Unit,
    stamp: datetime,
) -> Event:
    """An all-day tentative event for a dose that is due but not booked yet. A Dose row (for
    example after a cancellation) lends its UID, so the rebooked visit replaces this event."""
    uid = (
        dose.uid if dose else uuid.uuid5(PROVISIONAL_UID_NAMESPACE, f"{course.pk}:{planned.number}")
    )
    event = Event()
    event.add("uid", str(uid))
    event.add("sequence", dose.calendar_sequence if dose else 0)
    event.add("dtstamp", _utc(stamp))
    event.add("last-modified", _utc(stamp))
    event.add("summary", f"{unit.calendar_title} due — time to be confirmed")
    event.add("dtstart", planned.date)
    event.add("dtend", planned.date + timedelta(days=1))
    event.add("location", unit.address)
    event.add(
        "description",
        "Provisional date: the unit will confirm the day and time. The date can move if an "
        "earlier visit moves.\n"
        f"If you have not heard from the unit a week before, call {unit.phone}.\n"
        f"{VISIT_LENGTH_TEXT}",
    )
    event.add("status", "TENTATIVE")
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    event.add_component(
        _alarm(
            timedelta(days=-7),
            f"{unit.calendar_title} due next week: call {unit.phone} if no time is confirmed.",
        )
    )
    return event


def new_calendar(unit: Unit, *, name: str, publish_feed: bool = True) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if publish_feed:
        cal.add("name", name)
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", unit.time_zone)
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(REFRESH))
    return cal


def _finish(cal: Calendar, events: list[Event], unit: Unit, today: date) -> Calendar:
    """Add the VTIMEZONE (before the events that use it) and the events, in a stable order."""
    years = [today.year - 1, today.year + 1]
    for event in events:
        start = event.decoded("dtstart")
        years.append(start.year)
    cal.add_component(vtimezone(unit.time_zone, min(years), max(years) + 1))
    for event in events:
        cal.add_component(event)
    return cal


def _sort_key(event: Event):
    start = event.decoded("dtstart")
    if not isinstance(start, datetime):
        start = datetime.combine(start, time.min)
    return (start.replace(tzinfo=None), str(event["uid"]))


def window_start(unit: Unit, today: date) -> datetime:
    return datetime.combine(today - timedelta(days=PAST_DAYS), time.min, tzinfo=unit.zone)


def patient_calendar(patient: Patient, unit: Unit, *, today: date | None = None) -> Calendar:
    """The patient's feed: booked visits in the window, then provisional dates from the engine.

    1. Timed events for bookings from 90 days ago on that are booked, arrived or given.
    2. For each open course, the engine's plan; its due, overdue and planned doses within
       half a year (and always the next one) become all-day tentative events.
    """
    today = today or timezone.localdate()
    bookings = (
        Booking.objects.filter(
            dose__course__patient=patient,
            status__in=FEED_STATUSES,
            slot__start__gte=window_start(unit, today),
        )
        .select_related("slot", "dose__course")
        .order_by("slot__start")
    )
    events = [appointment_event(booking, unit) for booking in bookings]
    events += _provisional_events(patient, unit, today)
    events.sort(key=_sort_key)
    return _finish(new_calendar(unit, name=calendar_name(unit)), events, unit, today)


def open_courses(patient: Patient):
    return (
        TreatmentCourse.objects.filter(patient=patient)
        .exclude(status=TreatmentCourse.Status.STOPPED)
        .prefetch_related(*planning.planning_prefetch())
    )


def provisional_doses(course: TreatmentCourse, unit: Unit, today: date):
    """The engine's not-yet-booked doses for the letter and the feed: within half a year, and
    always the next one. Empty when the history is contradictory (logged, never a 500)."""
    horizon = today + timedelta(days=PROVISIONAL_DAYS)
    plan = planning.plan_for(course, today=today, unit=unit, until=horizon)
    if plan.problem:
        logger.warning("Course %s: cannot project doses: %s", course.pk, plan.problem)
        return []
    pending = (engine.DoseState.DUE, engine.DoseState.OVERDUE, engine.DoseState.PLANNED)
    return [p for p in plan if p.state in pending]


def _provisional_events(patient: Patient, unit: Unit, today: date) -> list[Event]:
    events = []
    for course in open_courses(patient):
        doses = {dose.number: dose for dose in course.doses.all()}
        stamps = [course.created_at]
        stamps += [dose.updated_at for dose in doses.values()]
        stamps += [event.recorded_at for event in course.events.all()]
        stamp = max(stamps)
        for planned in provisional_doses(course, unit, today):
            events.append(
                provisional_event(
                    planned, course=course, dose=doses.get(planned.number), unit=unit, stamp=stamp
                )
            )
    return events


def initials(patient: Patient) -> str:
    return "".join(
        f"{part[0].upper()}." for part in (patient.given_name, patient.family_name) if part
    )


def staff_calendar(unit: Unit, *, today: date | None = None) -> Calendar:
    """The unit's visits for a staff member's phone: initials and hospital number only."""
    today = today or timezone.localdate()
    bookings = (
        Booking.objects.filter(
            slot__unit=unit,
            status__in=FEED_STATUSES,
            slot__start__gte=window_start(unit, today),
        )
        .select_related("slot", "dose__course__patient")
        .order_by("slot__start", "pk")
    )
    events = [staff_event(booking, unit) for booking in bookings]
    name = f"{unit.name} visits"
    return _finish(new_calendar(unit, name=name), events, unit, today)


def booking_calendar(booking: Booking) -> Calendar:
    """A single appointment to download and send (or import): same event as the feed."""
    unit = booking.slot.unit
    cal = new_calendar(unit, name=calendar_name(unit), publish_feed=False)
    return _finish(cal, [appointment_event(booking, unit)], unit, booking.slot.local_date)
