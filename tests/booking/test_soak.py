"""The booking soak (issue 11): eight nurses' worth of writes at once, on the real database.

Every multi-row write that can meet another runs in a mix on several threads (see
`tests/support/soak.py`). On PostgreSQL the services' one lock order keeps them from deadlocking;
on SQLite the IMMEDIATE transaction mode queues writers. Run it against both.

Bounded: SOAK_SECONDS (default 20) on SOAK_THREADS threads (8 on PostgreSQL, 4 on SQLite,
where writers wait in turn anyway).
"""

import os

import pytest
from django.db import connection

from schedules import retry
from tests.support import soak


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_soak_of_concurrent_writes_keeps_the_diary_consistent():
    postgres = connection.vendor == "postgresql"
    threads = int(os.environ.get("SOAK_THREADS", "8" if postgres else "4"))
    seconds = float(os.environ.get("SOAK_SECONDS", "20"))
    world = soak.build_world()
    retry.stats.clear()

    outcome = soak.run(world, threads=threads, seconds=seconds)

    assert not outcome.failures, outcome.failures[:10]
    assert outcome.deadlocks == 0
    assert soak.check_invariants(world, outcome) == []
    # Every kind of write ran, and enough of them succeeded for the run to mean something.
    assert set(outcome.ops) == {name for name, _ in soak.MIX}
    assert len(outcome.done) >= 20, (outcome.ops, outcome.refused)
    if postgres:
        # The lock order, not the retries, is what keeps the diary usable: with every write
        # taking its locks in one order there is no deadlock to retry.
        assert retry.stats[retry.DEADLOCK] == 0, retry.stats
        assert outcome.busy == 0
