"""Print the dose plan the engine computes for a history given on the command line.

    python manage.py dose_schedule --start 2026-01-05 --given 1=2026-01-05 --booked 2=2026-01-20

A tool for checking the rules (US PI §2.1 / EU SmPC 4.2) without a database; other tools read
its ``--json`` output, so its shape is part of DESIGN.md §4. Bad input ends with one line on
stderr and a non-zero exit, never a traceback.
"""

import json
import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from schedules.engine import DoseState, ScheduleError, check_booking_order, plan

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str, what: str) -> date:
    # fromisoformat alone also takes "20260105" and week dates; insist on the one documented form.
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"{what}: {text!r} is not a real date.") from None
    raise CommandError(f"{what}: expected a date as YYYY-MM-DD, got {text!r}.")


def parse_doses(values: list[str], option: str) -> dict[int, date]:
    """Turn ["1=2026-01-05", ...] into {1: date(2026, 1, 5), ...}."""
    doses: dict[int, date] = {}
    for value in values:
        number_text, separator, date_text = value.partition("=")
        if not separator:
            raise CommandError(f"{option} {value!r}: expected N=YYYY-MM-DD, like 1=2026-01-05.")
        if not number_text.strip().isdigit():
            raise CommandError(f"{option} {value!r}: the dose number must be a whole number.")
        number = int(number_text)
        if number in doses:
            raise CommandError(f"{option}: dose {number} is listed twice.")
        doses[number] = parse_date(date_text.strip(), f"{option} {number}")
    return doses


class Command(BaseCommand):
    help = "Print the planned tofersen doses for a course history (no database needed)."

    # A pure calculation: it must work, and fail cleanly, even where the project is not set up.
    requires_system_checks = []

    def add_arguments(self, parser):
        # Values are parsed in handle(), not by argparse types, so that a bad value gives one
        # "CommandError: ..." line instead of a usage block.
        parser.add_argument(
            "--start", required=True, metavar="YYYY-MM-DD", help="Date dose 1 is due."
        )
        parser.add_argument(
            "--given",
            action="append",
            default=[],
            metavar="N=YYYY-MM-DD",
            help="A dose given on a date; repeat for each dose.",
        )
        parser.add_argument(
            "--booked",
            action="append",
            default=[],
            metavar="N=YYYY-MM-DD",
            help="A dose booked for a date; repeat for each booking.",
        )
        parser.add_argument(
            "--today",
            metavar="YYYY-MM-DD",
            help="Plan as of this date (default: today in the unit's time zone).",
        )
        parser.add_argument(
            "--count",
            default="13",
            metavar="K",
            help="Doses to list, given ones included (default 13).",
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON list.")

    def handle(self, *args, **options):
        start = parse_date(options["start"], "--start")
        today = (
            parse_date(options["today"], "--today") if options["today"] else timezone.localdate()
        )
        count_text = str(options["count"]).strip()
        if not re.fullmatch(r"-?\d+", count_text):
            raise CommandError(f"--count: expected a whole number, got {options['count']!r}.")
        given = parse_doses(options["given"], "--given")
        booked = parse_doses(options["booked"], "--booked")
        future = sorted(number for number, on in given.items() if on > today)
        if future:
            raise CommandError(
                f"Dose {future[0]} is given on {given[future[0]]}, after {today}: a dose cannot "
                "be given in the future."
            )
        try:
            check_booking_order(start=start, given=given, booked=booked)
            doses = plan(
                start=start, today=today, given=given, booked=booked, count=int(count_text)
            )
        except ScheduleError as error:
            raise CommandError(str(error)) from None

        if options["json"]:
            self.stdout.write(json.dumps([dose.as_dict() for dose in doses], indent=2))
            return
        self.stdout.write(f"Course starting {start}, as of {today}:")
        self.stdout.write(
            f"{'Dose':>4}  {'Phase':<11}  {'Due':<10}  {'State':<7}  {'Date':<10}  Window"
        )
        for dose in doses:
            flagged = dose.state in (DoseState.GIVEN, DoseState.BOOKED) and dose.outside_window
            note = "  outside window" if flagged else ""
            self.stdout.write(
                f"{dose.number:>4}  {dose.phase:<11}  {dose.due}  {dose.state:<7}  {dose.date}  "
                f"{dose.window_start} to {dose.window_end}{note}"
            )
