"""gunicorn's settings for this app, read from the working directory by `gunicorn
tofersen_scheduler.wsgi` (production, README "Deploy") and by `make bench`.

The app is imported once, in the master, and its objects are frozen out of the cyclic garbage
collector before each worker is forked (Python's documentation of `gc.freeze` recommends this
for pre-forking servers). A worker then never walks Django's tens of thousands of import-time
objects in a full collection: at 5,000 patients the collection that a page's prefetched model
instances trigger every dozen requests took 80-90 ms with them and about 30 ms without
(`docs/performance.md`). Workers also share those pages of memory instead of copying them.
"""

import gc

preload_app = True


def pre_fork(server, worker):
    gc.freeze()
