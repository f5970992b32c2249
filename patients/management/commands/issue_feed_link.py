"""Issue a patient's calendar-feed link from the command line (DESIGN §4)."""

from django.core.management.base import BaseCommand, CommandError

from patients.models import Patient
from patients.services import issue_feed_link
from schedules.feeds.links import feed_url


class Command(BaseCommand):
    help = (
        "Issue a new calendar-feed link for the patient with this hospital number (the previous "
        "link stops working) and print the full feed URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("hospital_number", help="The patient's hospital number (MRN).")

    def handle(self, *args, hospital_number, **options):
        number = hospital_number.strip()
        patient = Patient.objects.filter(hospital_number=number).first() if number else None
        if patient is None:
            raise CommandError(f"No patient with hospital number {number!r}.")
        raw = issue_feed_link(patient=patient, issued_by=None)
        self.stdout.write(feed_url(raw))
