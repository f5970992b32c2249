"""The words of every message to a patient, reviewed here in the repository (GOV.UK Notify
only delivers them: one template per channel whose content is ((body)), with ((subject)) for
email; issue 18 Interfaces).

Hazard H9 holds for messages too: a text is read on a lock screen, an email in a shared inbox,
a letter by whoever opens the post. A message carries the date, the time, the place and the
unit's phone number, and nothing about the patient's health: no drug, no condition, no
procedure, no name or NHS number. The place is the unit's name and address; a
line of either that names a condition or a treatment (a unit called "ALS
clinic") is left out by `without_health_information`, the one control checked for every text.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from tofersen_scheduler.dates import format_day

# Words that would tell a reader what the patient is treated for or with (H9).
HEALTH_WORDS = re.compile(
    r"tofersen|qalsody|\bals\b|amyotrophic|motor neuron|\bmnd\b|sod1|neuro|lumbar|puncture|"
    r"spinal|intrathecal|\bdose|injection|medicine|drug|treatment|infusion|chemo|oncology|"
    r"clinical trial",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def without_health_information(text: str) -> str:
    """H9: drop every line (or comma-separated part of an address) that names a condition or
    treatment. The fixed wording below never does; this catches what a unit typed."""
    kept = [part for part in re.split(r"\n|, ", text) if not HEALTH_WORDS.search(part)]
    return ", ".join(part.strip() for part in kept if part.strip())


def _place(unit) -> str:
    return without_health_information(f"{unit.name}\n{unit.address}")


def _when(start: datetime, unit) -> tuple[str, str, str]:
    local = start.astimezone(unit.zone)
    arrive = local - timedelta(minutes=unit.arrive_minutes_before)
    return format_day(local.date()), f"{local:%H:%M}", f"{arrive:%H:%M}"


def _phone(unit) -> str:
    return without_health_information(unit.phone)


def reminder(start: datetime, unit) -> Text:
    day, time, arrive = _when(start, unit)
    return Text(
        "Reminder: your hospital appointment",
        f"Reminder: you have a hospital appointment on {day} at {time}. Please arrive by "
        f"{arrive}. Place: {_place(unit)}. To change it, call {_phone(unit)}.",
    )


def booked(start: datetime, unit) -> Text:
    day, time, arrive = _when(start, unit)
    return Text(
        "Your hospital appointment is booked",
        f"Your hospital appointment is booked for {day} at {time}. Please arrive by {arrive}. "
        f"Place: {_place(unit)}. To change it, call {_phone(unit)}.",
    )


def changed(start: datetime, unit) -> Text:
    day, time, arrive = _when(start, unit)
    return Text(
        "Your hospital appointment has changed",
        f"Your hospital appointment has changed. It is now on {day} at {time}. Please arrive "
        f"by {arrive}. Place: {_place(unit)}. Questions: call {_phone(unit)}.",
    )


def cancelled(start: datetime, unit) -> Text:
    day, time, _ = _when(start, unit)
    return Text(
        "Your hospital appointment is cancelled",
        f"Your hospital appointment on {day} at {time} is cancelled. Please do not come. "
        f"Questions: call {_phone(unit)}.",
    )


def rebook(start: datetime, unit) -> Text:
    day, _, _ = _when(start, unit)
    return Text(
        "Please call us to rebook your appointment",
        f"We missed you at your hospital appointment on {day}. Please call us on "
        f"{_phone(unit)} to rebook.",
    )


def hold(unit) -> Text:
    return Text(
        "Please do not come until we call you",
        "Please do not come to your hospital appointments until we call you. We will phone "
        f"you to arrange the next one. Questions: call {_phone(unit)}.",
    )


def letter_line(patient, unit) -> str:
    """The schedule letter's sentence about reminders (issue 18 §1), from the unit's offsets
    and the patient's channel; empty without the patient's agreement or a channel."""
    offsets = unit.reminder_offsets
    if not patient.reminders_wanted or not offsets:
        return ""
    what = {"sms": "a text", "email": "an email", "letter": "a letter"}[patient.preferred_channel]
    days = " and ".join(f"{d} day{'' if d == 1 else 's'}" for d in offsets)
    return f"You will get {what} {days} before each visit."
