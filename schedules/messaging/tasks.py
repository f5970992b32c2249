"""The work, on Django's task framework (the django-tasks backport of Django 6's
django.tasks; issue 18 §4). The database backend by default (`make run` starts its worker,
`manage.py db_worker`); RQ on Redis when a unit outgrows one machine (README).

Enqueued on commit by the outbox (`outbox._enqueue_on_commit`), so a worker never looks for a
message its transaction has not written yet; each task records the worker's heartbeat, which
the Messages page and the staff banner watch.
"""

import logging

from django_tasks import task

from schedules.messaging import sending, sweep

logger = logging.getLogger(__name__)

HEARTBEAT = "task worker"


@task()
def send_message(message_id: int) -> str:
    """Send one message if it is (still) due."""
    sweep.beat(HEARTBEAT)
    counts = sending.send_due(message_id=message_id)
    return ",".join(sorted(counts)) or "nothing due"


@task()
def send_due_messages(limit: int | None = None) -> int:
    """Send every due message (the benchmark enqueues one per worker)."""
    sweep.beat(HEARTBEAT)
    return sum(sending.send_due(limit=limit).values())


@task()
def reminder_sweep() -> dict:
    """The periodic sweep, run by the worker (enqueued by the deploy's timer)."""
    sweep.beat(HEARTBEAT)
    return sweep.run()


def enqueue_send(message_id: int, *, run_after=None) -> None:
    """Hand one message to the worker; a backend that cannot defer leaves a retry to the
    sweep. An enqueue that fails loses nothing: the row waits in the outbox for the sweep."""
    try:
        if run_after is not None:
            if not send_message.get_backend().supports_defer:
                return
            send_message.using(run_after=run_after).enqueue(message_id)
        else:
            send_message.enqueue(message_id)
    except Exception:
        logger.exception("Could not enqueue message %s; the sweep will send it", message_id)
