"""Demand and capacity ahead: per open day, places, doses booked, doses due but unbooked.

    python manage.py capacity_forecast [--weeks 12] [--json]

With `--json`: per open day an object `date`, `places`, `booked`, `due_unbooked`,
`over_capacity` (DESIGN §4), and `beds`, `operators`, `imaging` (each `{used, capacity}`, or
null when the unit does not count it) and `utilisation` (percent of the scarcest resource's
capacity booked; issue 19). Closed days are left out: they offer nothing. Without: a table,
the weeks whose due doses cannot fit, and how many more patients the unit can start next
month, with the sum behind the number.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from schedules import planning
from schedules.models import Unit, UnitMissing


class Command(BaseCommand):
    help = "Per open day ahead: places, booked, due but unbooked, over capacity."

    def add_arguments(self, parser):
        parser.add_argument("--weeks", default="12", help="How many weeks ahead (1 to 26).")
        parser.add_argument("--json", action="store_true", help="Print JSON rows.")

    def handle(self, *args, weeks, json: bool, **options):
        if not str(weeks).isdigit() or not 1 <= int(weeks) <= planning.FORECAST_MAX_WEEKS:
            raise CommandError(
                f"--weeks: expected a whole number from 1 to {planning.FORECAST_MAX_WEEKS}, "
                f"got {weeks!r}."
            )
        try:
            unit = Unit.current()
        except UnitMissing as error:
            raise CommandError(str(error)) from None
        today = timezone.localdate()
        report = planning.forecast_report(unit, weeks=int(weeks), today=today)
        days = [day for day in report.days if not day.closed]
        if json:
            self.stdout.write(dumps([day.as_dict() for day in days]))
            return
        self.stdout.write(
            f"{'Date':<16}{'Places':>7}{'Beds':>9}{'Operators':>11}{'Booked':>7}{'Due':>5}"
            f"{'Use':>6}  Over"
        )
        for day in days:
            over = f"by {day.over_by}" if day.over_capacity else ""
            use = "" if day.utilisation is None else f"{day.utilisation}%"
            self.stdout.write(
                f"{day.date:%a %d %b %Y}  {day.places.capacity:>5}{day.beds!s:>9}"
                f"{day.operators!s:>11}{day.booked:>7}{day.due_unbooked:>5}{use:>6}  {over}"
            )
        for week in report.weeks:
            if week.cannot_fit:
                self.stdout.write(
                    f"Week of {week.first:%d %b %Y}: {week.due_unbooked} doses due, "
                    f"{week.places - week.booked} places left."
                )
        self.stdout.write(report.start.sentence)


def dumps(rows) -> str:
    return json.dumps(rows, indent=2)
