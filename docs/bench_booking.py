"""Booking throughput under concurrency (`make bench`, issue 11). Prints; never asserts.

Runs the soak's mix of writes (`tests/support/soak.py`: book, book next doses, cancel, reschedule,
arrived, did not attend, record given, pause, resume, consent withdrawal, slot generation
with a closure) on BENCH_THREADS threads (default 8) for BENCH_SECONDS (default 20), on a
throwaway test database created on the DATABASE_URL server (SQLite by default), and reports
operations per second, deadlocks that reached a caller, retries and "diary busy" answers.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tofersen_scheduler.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from schedules import retry
    from tests.support import soak

    config = setup_databases(verbosity=0, interactive=False)
    try:
        world = soak.build_world()
        retry.stats.clear()
        outcome = soak.run(world, threads=THREADS, seconds=SECONDS)
        problems = soak.check_invariants(world, outcome)
    finally:
        connection.close()
        teardown_databases(config, verbosity=0)

    print(f"Booking soak mix on {connection.vendor}, {THREADS} threads, {outcome.seconds:.0f} s")
    print(f"  operations            {outcome.total:6d}  ({outcome.total / outcome.seconds:.1f}/s)")
    print(f"  done                  {len(outcome.done):6d}")
    print(f"  refused (nurse reads) {sum(outcome.refused.values()):6d}")
    print(f"  deadlocks to a caller {outcome.deadlocks:6d}")
    print(f"  other failures        {len(outcome.failures) - outcome.deadlocks:6d}")
    print(f"  deadlocks met         {retry.stats[retry.DEADLOCK]:6d}")
    print(f"  retries               {retry.stats['retries']:6d}")
    print(f"  'diary busy' answers  {outcome.busy:6d}")
    print(f"  invariant problems    {len(problems):6d}")
    for line in outcome.failures[:5] + problems[:5]:
        print("   ", line[:200])
    print("  per operation:", ", ".join(f"{n} {c}" for n, c in sorted(outcome.ops.items())))


if __name__ == "__main__":
    main()
