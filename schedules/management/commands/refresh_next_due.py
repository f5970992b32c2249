"""Rewrite every open course's outlook (next due date, problem, flagged booking).

    python manage.py refresh_next_due

Run nightly, after midnight in the unit's time zone. Services keep the outlook right as
facts change; this pass covers time passing and any fact written outside a service (an
admin's correction, a data import). Idempotent.
"""

from django.core.management.base import BaseCommand, CommandError

from schedules import outlook
from schedules.models import UnitMissing


class Command(BaseCommand):
    help = "Rewrite every open course's worklist outlook from its facts (run nightly)."

    def handle(self, *args, **options):
        try:
            count = outlook.refresh_all()
        except UnitMissing as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Refreshed {count} course outlook(s).")
