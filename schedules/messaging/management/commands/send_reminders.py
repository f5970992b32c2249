"""`python manage.py send_reminders`: one reminder sweep, synchronously (issue 18 §4): writes
the reminders that are due, sends every message due, prints what it did. Safe to run twice
at once: messages are claimed under a row lock with a conditional update, and the
reminders' idempotency keys make the second run write nothing more.

`--enqueue` instead hands the sweep to the task worker (the deploy's timer uses it, so the
worker's heartbeat shows on the Messages page)."""

from django.core.management.base import BaseCommand

from schedules.messaging import sweep, tasks


class Command(BaseCommand):
    help = "Send the reminders and messages that are due (one sweep)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the sweep for the worker instead."
        )

    def handle(self, *args, enqueue=False, **options):
        if enqueue:
            result = tasks.reminder_sweep.enqueue()
            self.stdout.write(f"Sweep queued for the worker ({result.id}).")
            return
        sweep.beat("send_reminders")
        done = sweep.run()
        sent = ", ".join(f"{count} {status}" for status, count in sorted(done["sent"].items()))
        self.stdout.write(
            f"Reminders written: {done['written']}. Messages: {sent or 'none due'}."
            + (
                f" Requeued from a stopped worker: {done['reclaimed']}."
                if done["reclaimed"]
                else ""
            )
        )
