"""Generate the day-care unit's slots from its weekly session templates.

    python manage.py generate_slots [--start YYYY-MM-DD] [--weeks N] [--unit ID]

Run nightly (and after changing templates or closures). Idempotent: a second run changes
nothing. It never deletes a slot holding bookings; bookings whose slot was closed, withdrawn or
shrunk are listed for rebooking (on stderr, so a scheduler's mail picks them up).
"""

import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from schedules.models import Unit
from schedules.services import MAX_GENERATE_WEEKS, ServiceError, generate_slots

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> date:
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--start: {text!r} is not a real date.") from None
    raise CommandError(f"--start: expected a date as YYYY-MM-DD, got {text!r}.")


class Command(BaseCommand):
    help = "Create the unit's slots from its session templates for the coming weeks."

    def add_arguments(self, parser):
        parser.add_argument("--start", help="First day (YYYY-MM-DD); default today.")
        parser.add_argument(
            "--weeks",
            type=int,
            help=f"How many weeks (1–{MAX_GENERATE_WEEKS}); default the unit's horizon.",
        )
        parser.add_argument("--unit", type=int, help="Unit id; default every unit.")

    def handle(self, *args, start=None, weeks=None, unit=None, **options):
        first = parse_date(start) if start else None
        if first and first < timezone.localdate():
            raise CommandError("--start cannot be in the past: past slots are never rewritten.")
        units = Unit.objects.all()
        if unit is not None:
            units = units.filter(pk=unit)
            if not units.exists():
                raise CommandError(f"No unit with id {unit}.")
        for each in units:
            try:
                report = generate_slots(unit=each, start=first, weeks=weeks)
            except ServiceError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{each}: {report}.")
            for booking in report.affected:
                patient = booking.dose.course.patient
                self.stderr.write(
                    f"  Rebook: {booking.slot} {patient.full_name} ({patient.hospital_number}), "
                    f"dose {booking.dose.number}"
                )
