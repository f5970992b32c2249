"""The safety net under the lock order (issue 11): retry a whole service call that met a
deadlock or a serialization failure, then tell the nurse the diary was busy.

The lock order in `schedules/locks.py` is what prevents deadlocks; this only catches what
slips through (a lock taken by code outside the services, PostgreSQL's own internal locks).
A retry is logged with its count, so a deadlock that keeps happening shows up in the log
instead of being hidden.

Only the outermost call retries: inside someone else's transaction the whole transaction is
lost, so a nested call turns the error into `DiaryBusy` at once and lets the caller's atomic
block roll back.
"""

import functools
import logging
import random
import threading
import time
from collections import Counter

from django.db import OperationalError, connection

from schedules.errors import DiaryBusy

logger = logging.getLogger(__name__)

# PostgreSQL: deadlock_detected, serialization_failure.
DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
RETRY_SQLSTATES = {DEADLOCK, SERIALIZATION_FAILURE}
ATTEMPTS = 4
BACKOFF_SECONDS = 0.02

# Counts since the process started, for `docs/bench_booking.py` and the soak test.
stats: Counter = Counter()
_stats_lock = threading.Lock()


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg's `sqlstate`), or None."""
    cause = getattr(error, "__cause__", None)
    return getattr(cause, "sqlstate", None) or getattr(error, "sqlstate", None)


def _count(key: str) -> int:
    with _stats_lock:
        stats[key] += 1
        return stats[key]


def _busy(error: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL), or SQLite's lock timeout."""
    if sqlstate(error) in RETRY_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def retry_when_busy(service):
    """Decorate an atomic service (put it above `@transaction.atomic`)."""

    @functools.wraps(service)
    def call(*args, **kwargs):
        if connection.in_atomic_block:
            # Nested: the caller's transaction is aborted too, so only its caller can retry.
            try:
                return service(*args, **kwargs)
            except OperationalError as error:
                if not _busy(error):
                    raise
                _count(sqlstate(error) or "locked")
                raise DiaryBusy(DiaryBusy.MESSAGE) from error

        for attempt in range(1, ATTEMPTS + 1):
            try:
                return service(*args, **kwargs)
            except (OperationalError, DiaryBusy) as error:
                cause = error.__cause__ if isinstance(error, DiaryBusy) else error
                if cause is None or not _busy(cause):
                    raise
                if not isinstance(error, DiaryBusy):
                    _count(sqlstate(error) or "locked")
                if sqlstate(cause) not in RETRY_SQLSTATES or attempt == ATTEMPTS:
                    # SQLite has already waited out its busy timeout: no point waiting again.
                    _count("busy")
                    logger.warning(
                        "%s gave up after %d attempt(s): %s", service.__name__, attempt, cause
                    )
                    raise DiaryBusy(DiaryBusy.MESSAGE) from cause
                retries = _count("retries")
                logger.warning(
                    "%s retried (attempt %d of %d, %d retries so far): %s",
                    service.__name__,
                    attempt + 1,
                    ATTEMPTS,
                    retries,
                    sqlstate(cause),
                )
                time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))  # noqa: S311
        raise AssertionError("unreachable")

    return call
