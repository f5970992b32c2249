"""Issue a read-only FHIR API token for a client system (DESIGN §4)."""

from django.core.management.base import BaseCommand, CommandError

from schedules.fhir.models import ApiClient


class Command(BaseCommand):
    help = (
        "Issue a new read-only token for the FHIR API to the client system NAME and print it "
        "once: only its hash is kept. Revoke it in the admin (API clients)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who holds the token, e.g. 'Trust EPR'.")

    def handle(self, *args, name, **options):
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise CommandError("Give the client's name, 1 to 100 characters.")
        _, raw = ApiClient.issue(name=name)
        self.stdout.write(raw)
