"""What load-levelled booking buys (issue 19 item 7): a synthetic year replayed with
first-free and with levelled suggestions, side by side.

    python manage.py simulate_year --patients 120 --seed 1 [--target 85] [--places N]
        [--start 2027-01-04] [--json]

An in-memory model driving the engine (`schedules.planning.simulation`): it reads and writes
no database row, so it never touches real data. Deterministic for a seed.
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from schedules.planning import simulation

MAX_PATIENTS = 5000


def _whole(name: str, value: str, low: int, high: int) -> int:
    if not str(value).isdigit() or not low <= int(value) <= high:
        raise CommandError(
            f"--{name}: expected a whole number from {low} to {high}, got {value!r}."
        )
    return int(value)


class Command(BaseCommand):
    help = "Replay a synthetic year with first-free and with levelled booking; print both."

    def add_arguments(self, parser):
        parser.add_argument("--patients", default="120", help=f"1 to {MAX_PATIENTS}.")
        parser.add_argument(
            "--seed", default="1", help="Any whole number: the same year each time."
        )
        parser.add_argument("--target", default="85", help="Daily load target, 1 to 100 (%%).")
        parser.add_argument(
            "--places", default="", help="Places a day (default: sized so demand is the target)."
        )
        parser.add_argument("--start", default="2027-01-04", help="First day (YYYY-MM-DD).")
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args, patients, seed, target, places, start, json: bool, **options):
        patients = _whole("patients", patients, 1, MAX_PATIENTS)
        seed = _whole("seed", seed, 0, 2**63)
        target = _whole("target", target, 1, 100)
        places = _whole("places", places, 1, 10_000) if places else None
        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise CommandError(f"--start: expected a date YYYY-MM-DD, got {start!r}.") from None
        if not 2000 <= first.year <= 2098:
            raise CommandError("--start: choose a year from 2000 to 2098.")
        runs = [
            simulation.simulate(
                patients=patients,
                seed=seed,
                levelled=levelled,
                first=first,
                target=target / 100,
                places_per_day=places,
            )
            for levelled in (False, True)
        ]
        rows = simulation.table(*runs)
        if json:
            self.stdout.write(
                dumps(
                    {
                        "patients": patients,
                        "seed": seed,
                        "target_percent": target,
                        "rows": [
                            {"measure": m.strip(), "first_free": a, "levelled": b}
                            for m, a, b in rows
                        ],
                    }
                )
            )
            return
        per_day = simulation.SESSIONS_PER_DAY
        self.stdout.write(
            f"Simulated year from {first:%a %d %b %Y}: {patients} patients, seed {seed}, "
            f"target {target}% of places, {runs[0].places_offered // max(runs[0].open_days, 1)} "
            f"places a day in {per_day} sessions, {runs[0].open_days} open days "
            "(in memory: no database row read or written)."
        )
        self.stdout.write(f"{'Measure':<38}{'First free':>12}{'Levelled':>12}")
        for measure, first_free, levelled in rows:
            self.stdout.write(f"{measure:<38}{first_free:>12}{levelled:>12}")


def dumps(value) -> str:
    return json.dumps(value, indent=2)
