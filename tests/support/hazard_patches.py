"""Pytest plugin for `make hazards` (docs/hazards.py): removes one control of the hazard log
around each cited test.

The runner writes a JSON file naming, for each test function, the hazard whose control to
remove; `HAZARD_PLAN` points to it. Each control is one monkeypatch below, keyed by the hazard
ID of docs/hazard-log.md. Outcomes go to `HAZARD_RESULTS` (JSON, nodeid → outcome).
"""

import contextlib
import json
import os
from datetime import timedelta
from unittest import mock

import pytest


def _noop(*args, **kwargs):
    return None


@contextlib.contextmanager
def _patch_all(*patches):
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield


def control_patches() -> dict:
    """{hazard ID: function returning the patch that removes its control}. Imports are inside
    so that the plugin loads before Django is set up."""
    from django.contrib.auth.backends import ModelBackend
    from django.forms import ModelForm
    from simple_history.models import HistoricalRecords

    from patients.admin import FeedTokenAdmin
    from patients.models import Patient
    from schedules import engine, planning
    from schedules.admin import ClosureAdmin
    from schedules.models import AdverseEvent, Booking, Unit, UnitCalendar, Visit
    from schedules.planning import plans
    from schedules.plph import PlphStep

    def open_policy(self):
        return engine.Policy(book_early_days=3650, flag_late_days=3650)

    def plan_for_uncaught(course, *, today=None, unit=None, calendar=None, **options):
        from django.utils import timezone

        today = today or timezone.localdate()
        unit = unit or Unit.current()
        calendar = calendar or planning.open_calendar(unit, today)
        doses = planning.plan_course(course, unit=unit, calendar=calendar, today=today, **options)
        return planning.CoursePlan(course, doses)

    def revoke_directly(self, request, queryset):
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())

    def consent_ignoring_withdrawals(self, kind, on=None):
        from django.utils import timezone

        on = on or timezone.localdate()
        return next((c for c in self.consents.all() if c.kind == kind and c.in_force_on(on)), None)

    def hold_the_events_course_only(event, courses):
        done = ("stopped", "held")
        return [
            c
            for c in courses
            if event.needs_review and c.pk == event.course_id and c.status not in done
        ]

    # Each patch names the module that looks the control up at call time.
    rules = "schedules.rules."
    courses = "schedules.courses.services."
    given = "schedules.visits.administration."
    visits = "schedules.visits.services."
    return {
        "H1": lambda: mock.patch.object(Unit, "policy", property(open_policy)),
        "H2": lambda: mock.patch.object(
            engine, "_first_open_day", lambda today, is_open: today + timedelta(days=365)
        ),
        "H5": lambda: mock.patch.object(
            Patient, "active_consent", lambda self, kind, on=None: object()
        ),
        "H6": lambda: mock.patch(courses + "_cancel_future_bookings", lambda course, reason: 0),
        "H7": lambda: mock.patch.object(engine, "_not_before_interval", lambda due, on: on),
        "H11": lambda: mock.patch.object(UnitCalendar, "closure_reason", lambda self, day: ""),
        "H13": lambda: mock.patch(given + "_check_vial_in_date", _noop),
        "H14": lambda: mock.patch.object(
            ModelBackend, "has_perm", lambda self, user, perm, obj=None: user.is_active
        ),
        "H15": lambda: mock.patch.object(HistoricalRecords, "create_historical_record", _noop),
        "H16": lambda: mock.patch.object(
            Booking,
            "ACTIVE_STATUSES",
            (Booking.Status.BOOKED, Booking.Status.ARRIVED, Booking.Status.NOT_GIVEN),
        ),
        "H17": lambda: mock.patch(given + "_check_earlier_doses_given", _noop),
        "H18": lambda: mock.patch(given + "_check_not_early", lambda *args, **kwargs: ""),
        # Callers reach plan_for through the facade or its module (schedules.planning.plans).
        "H19": lambda: _patch_all(
            mock.patch.object(planning, "plan_for", plan_for_uncaught),
            mock.patch.object(plans, "plan_for", plan_for_uncaught),
        ),
        "H20": lambda: mock.patch(courses + "_hold", _noop),
        "H21": lambda: mock.patch.object(
            engine,
            "_restarts_loading",
            lambda resumes: bool(resumes) and resumes[-1].restart_loading,
        ),
        "H22": lambda: mock.patch.object(
            AdverseEvent, "needs_review", property(lambda self: False)
        ),
        "H23": lambda: mock.patch(
            "schedules.plph.plph_advice", lambda answers: PlphStep("conservative", "")
        ),
        "H24": lambda: mock.patch(visits + "_check_pregnancy_asked", _noop),
        "H25": lambda: mock.patch(visits + "MIN_OBSERVATION", timedelta(0)),
        "H26": lambda: mock.patch.object(FeedTokenAdmin, "revoke", revoke_directly),
        "H27": lambda: mock.patch(given + "_check_visit_ready", _noop),
        "H28": lambda: mock.patch(given + "_check_required_details", _noop),
        "H30": lambda: mock.patch.object(
            planning, "preview_confirmed", lambda preview, posted: True
        ),
        "H31": lambda: mock.patch.object(ClosureAdmin, "form", ModelForm),
        "H32": lambda: mock.patch.object(Visit, "has_record", property(lambda visit: False)),
        "H33": lambda: mock.patch.object(Booking, "PLACE_STATUSES", Booking.ACTIVE_STATUSES),
        "H34": lambda: mock.patch(rules + "check_interval", lambda **kwargs: ""),
        "H35": lambda: _patch_all(
            mock.patch(rules + "courses_to_hold", hold_the_events_course_only),
            mock.patch(rules + "open_serious_event", lambda patient_id: None),
        ),
        "H36": lambda: mock.patch.object(Patient, "active_consent", consent_ignoring_withdrawals),
        "H37": lambda: mock.patch(rules + "check_not_inside_hold", _noop),
        "H38": lambda: mock.patch(rules + "check_no_dose_given_after", _noop),
        "H39": lambda: mock.patch(rules + "pause_in_force", lambda course: None),
        "H40": lambda: mock.patch("schedules.feeds.ical.on_hold", lambda booking: False),
        "H41": lambda: mock.patch(courses + "require_permission", _noop),
    }


def _plan() -> dict:
    path = os.environ.get("HAZARD_PLAN")
    if not path:
        return {}
    with open(path) as file:
        return json.load(file)


PLAN = _plan()
RESULTS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _remove_control(request):
    hazard = PLAN.get(request.node.nodeid.split("[")[0])
    if hazard is None:
        yield
        return
    with control_patches()[hazard]():
        yield


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        previous = RESULTS.get(report.nodeid, "passed")
        RESULTS[report.nodeid] = report.outcome if previous == "passed" else previous


def pytest_sessionfinish(session):
    path = os.environ.get("HAZARD_RESULTS")
    if path:
        with open(path, "w") as file:
            json.dump(RESULTS, file)
