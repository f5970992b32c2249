"""Shared fixtures: the personas (nurse, clinician, admin), the demo unit, the clock; and which
tests run on which database.

Fixtures only where setup repeats; data builders are in `tests/factories.py`. Each persona is a
real user in the group the data migration created, so permission checks are the production
ones.

Databases. `make test` runs the suite twice: on SQLite without the tests marked `browser` or
`postgres_only`, then on PostgreSQL with everything. A test is never skipped: one not meant
for this database is left out at collection, and with TEST_LEDGER set each pass writes what it
collected, what it left for the other database and what passed, so `tests/support/ledger.py`
can prove every collected test passed on some database (`make test` runs it).
"""

import os
from datetime import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connections
from django.test.utils import override_settings
from django.utils import timezone

from schedules.models import SessionTemplate, Unit
from tests.factories import make_patient, make_user, moment

# Markers of tests that can only fail on PostgreSQL (row locks, the browser run once).
POSTGRES_ONLY = ("postgres_only", "browser")


def _vendor() -> str:
    return connections["default"].vendor


def _ledger(config, kind: str) -> Path | None:
    folder = os.environ.get("TEST_LEDGER")
    if not folder:
        return None
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / f"{_vendor()}.{kind}.{worker}"


def pytest_collection_modifyitems(config, items):
    """Leave out, without reporting them skipped or deselected, the tests that cannot fail on
    this database; the ledger records them for the pass that runs them."""
    here = [item for item in items if _vendor() == "postgresql" or not _postgres_only(item)]
    elsewhere = [item for item in items if item not in here]
    if (collected := _ledger(config, "collected")) is not None:
        collected.write_text("".join(f"{item.nodeid}\n" for item in items))
        _ledger(config, "elsewhere").write_text("".join(f"{i.nodeid}\n" for i in elsewhere))
    items[:] = here


def _postgres_only(item) -> bool:
    return any(item.get_closest_marker(name) for name in POSTGRES_ONLY)


_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report):
    """Runs where results arrive (the xdist controller too): a test passed only if its call
    passed and no phase was skipped or failed."""
    if report.when == "call" and report.passed and report.nodeid not in _outcomes:
        _outcomes[report.nodeid] = "passed"
    elif report.skipped or report.failed:
        _outcomes[report.nodeid] = "skipped" if report.skipped else "failed"


def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return
    if (passed := _ledger(session.config, "passed")) is not None:
        passed.write_text("".join(f"{n}\n" for n, o in sorted(_outcomes.items()) if o == "passed"))
        _ledger(session.config, "skipped").write_text(
            "".join(f"{n}\n" for n, o in sorted(_outcomes.items()) if o == "skipped")
        )


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """MD5 for the whole run, as Django's own test suite and Healthchecks do: a full-strength
    hash costs a few hundred milliseconds of CPU and the suite makes about 500 per pass. Sign-in,
    lockout and password-change tests need a hasher that works, not a slow one; that production
    keeps Django's strong default is tested in `security/test_sign_in.py`."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


class Clock:
    """The frozen clock inside a test (time-machine's fixture, undone after the test)."""

    def __init__(self, traveller):
        self._traveller = traveller

    def __call__(self, day, hour=8, minute=0, second=0):
        """Stop the clock at `day` hour:minute in London (or at an aware datetime), the same
        instant as `factories.frozen(day, hour, minute)`."""
        self._traveller.move_to(moment(day, hour, minute, second), tick=False)

    def stop(self):
        """Stop the clock where it is now: for tests about elapsed time, not about dates."""
        self._traveller.move_to(timezone.now(), tick=False)

    def shift(self, delta):
        self._traveller.shift(delta)


@pytest.fixture
def clock(time_machine):
    return Clock(time_machine)


# The personas -------------------------------------------------------------------------------


@pytest.fixture
def nurse(db):
    return make_user("nurse", "Nurse")


@pytest.fixture
def clinician(db):
    return make_user("clinician", "Clinician")


@pytest.fixture
def admin_user(db):
    return make_user("admin", "Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


@pytest.fixture
def clinician_client(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture(autouse=True)
def empty_caches():
    """Caches live as long as the process; a test starts with none of another test's."""
    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def installed_unit(request):
    """Every installation has its unit (an admin or `seed_demo` creates it; reading never
    does), so every database test starts with one, not yet open on any day. Mark a test
    `no_unit` to see what happens before the unit is set up."""
    names = request.fixturenames
    if request.node.get_closest_marker("no_unit") or not (
        {"db", "transactional_db"} & set(names) or request.node.get_closest_marker("django_db")
    ):
        return None
    request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    return Unit.objects.create(name="Day-care unit", address="Not set", phone="Not set")


@pytest.fixture
def unit(db, installed_unit):
    """A unit open Monday to Friday with three 2-hour slots of two places from 09:00."""
    unit = installed_unit
    unit.name = "Neurology Day Unit"
    unit.address = "Ward 7, St Elsewhere Hospital, 1 Hospital Road, London SE1 7EH"
    unit.phone = "020 7946 0000"
    unit.save()
    for weekday in range(5):
        SessionTemplate.objects.create(
            unit=unit, weekday=weekday, start_time=time(9), slot_minutes=120, slot_count=3, places=2
        )
    return unit


@pytest.fixture
def patient(db):
    return make_patient()
