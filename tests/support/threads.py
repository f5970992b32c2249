"""Racing threads for the concurrency tests: each with its own database connection."""

import threading

from django.db import connection


def race(workers):
    """Run each callable in its own thread, released together; return what each returned or
    raised."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def run(index, work):
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the test inspects every outcome
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, work)) for index, work in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results
