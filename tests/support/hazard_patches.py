"""Pytest plugin for `make hazards` (docs/hazards.py): removes one control of the hazard log
around each cited test.

The runner writes a JSON file naming, for each test function, the hazard whose control to
remove; `HAZARD_PLAN` points to it. Each control is one monkeypatch below, keyed by the hazard
ID of docs/hazard-log.md. Outcomes go to `HAZARD_RESULTS` (JSON, nodeid → outcome).

A hazard held by several controls maps to a dict instead, {cited test name: patch}: each test
runs with its own control removed, so each removal is proved by the test that guards it.
"""

import contextlib
import functools
import json
import os
from datetime import date, timedelta
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


def _ignoring(original, attribute: str, value):
    """`original(obj, ...)` as if `obj.attribute` were `value`: removes the one clause of a
    check that reads it, and keeps the check's other clauses."""

    @functools.wraps(original)
    def wrapper(obj, *args, **kwargs):
        saved = getattr(obj, attribute)
        setattr(obj, attribute, value)
        try:
            return original(obj, *args, **kwargs)
        finally:
            setattr(obj, attribute, saved)

    return wrapper


def control_patches() -> dict:
    """{hazard ID: function returning the patch that removes its control}. Imports are inside
    so that the plugin loads before Django is set up."""
    from django.contrib import admin
    from django.contrib.auth.backends import ModelBackend
    from django.forms import ModelForm
    from simple_history.admin import SimpleHistoryAdmin
    from simple_history.models import HistoricalRecords

    from patients.admin import FeedTokenAdmin
    from patients.models import Patient
    from schedules import engine, planning, plph
    from schedules.admin import BookingAdmin, ClosureAdmin
    from schedules.admin.window import ClinicalRecordAdmin, ReadOnlyAdminMixin
    from schedules.booking import series
    from schedules.booking import services as booking
    from schedules.models import AdverseEvent, Booking, FollowUpCall, Unit, UnitCalendar, Visit
    from schedules.planning import plans
    from schedules.plph import PlphStep
    from schedules.visits import safety
    from schedules.visits import services as visit_services

    def next_calendar_day(calendar, after):
        return after + timedelta(days=1)

    original_rank_offers = planning.suggestions.rank_offers

    def rank_around_the_window(free, loads, first, last, **options):
        """The levelled ranking over a fortnight either side of the dose's window."""
        wide = (first - timedelta(days=14), last + timedelta(days=14))
        return original_rank_offers(free, loads, *wide, **options)

    # `move_series` without its transaction: its retry wrapper, then the atomic block, off.
    series_not_atomic = series.move_series.__wrapped__.__wrapped__

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

    def future_bookings_with_arrived(course):
        from django.utils import timezone

        return Booking.objects.active().filter(dose__course=course, slot__start__gte=timezone.now())

    @contextlib.contextmanager
    def recent_is_newest_only():
        """The board's fingerprint from the newest history id of each table (a MAX)."""
        from schedules.visits import freshness

        freshness._statement.cache_clear()
        with mock.patch.object(freshness, "RECENT", 1):
            yield
        freshness._statement.cache_clear()

    def admin_editable():
        """The clinical records' admin as a plain ModelAdmin: add, change, delete, revert."""
        patches = [
            mock.patch.object(ReadOnlyAdminMixin, name, getattr(admin.ModelAdmin, name))
            for name in (
                "has_add_permission",
                "has_change_permission",
                "has_delete_permission",
                "get_readonly_fields",
            )
        ]
        patches.append(
            mock.patch.object(
                ClinicalRecordAdmin,
                "history_form_view",
                SimpleHistoryAdmin.history_form_view,
            )
        )
        return _patch_all(*patches)

    def unbounded_policy():
        """The unit's policy validators and its constraints gone from `full_clean` (the
        database's own constraint stays: a monkeypatch cannot remove it)."""
        fields = [Unit._meta.get_field(name) for name in ("book_early_days", "flag_late_days")]
        return _patch_all(
            mock.patch.object(Unit._meta, "constraints", []),
            *(
                mock.patch.object(
                    field, "validators", [v for v in field.validators if v not in field._validators]
                )
                for field in fields
            ),
        )

    def cancel_directly(self, request, queryset):
        queryset.update(
            status=Booking.Status.CANCELLED, cancel_reason=request.POST.get("reason", "")
        )

    def discharge_any_time(at, after, what):
        return original_check_time(at, min(at, after), what)

    original_check_time = visit_services._check_time
    original_dose_given_before = safety._check_dose_given_before

    # Each patch names the module that looks the control up at call time.
    rules = "schedules.rules."
    courses = "schedules.courses.services."
    given = "schedules.visits.administration."
    visits = "schedules.visits.services."
    resources = "schedules.unit.resources."
    return {
        "H1": lambda: mock.patch.object(Unit, "policy", property(open_policy)),
        "H2": lambda: mock.patch.object(
            engine, "_first_open_day", lambda today, is_open: today + timedelta(days=365)
        ),
        "H5": lambda: mock.patch.object(
            Patient, "active_consent", lambda self, kind, on=None: object()
        ),
        "H6": lambda: mock.patch(courses + "_cancel_future_bookings", lambda course, reason, by: 0),
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
        "H26": {
            "test_admin_revoke_goes_through_the_service": lambda: mock.patch.object(
                FeedTokenAdmin, "revoke", revoke_directly
            ),
            "test_admin_cancels_a_booking_through_the_service_with_a_reason": lambda: (
                mock.patch.object(BookingAdmin, "cancel_selected", cancel_directly)
            ),
            "test_admin_cancel_is_refused_by_the_service_when_a_later_dose_counts_from_it": (
                lambda: mock.patch.object(BookingAdmin, "cancel_selected", cancel_directly)
            ),
        },
        "H27": {
            "test_administration_is_refused_until_the_checks_are_complete": lambda: mock.patch(
                given + "_check_visit_ready", _noop
            ),
            "test_a_new_symptom_stops_the_checks_until_a_clinician_decides": lambda: mock.patch(
                given + "_check_visit_ready", _noop
            ),
            "test_control_identity_must_be_confirmed": lambda: mock.patch(
                visits + "_check_identity_confirmed", _noop
            ),
            "test_control_clotting_asked_for_and_not_done_blocks_the_dose": lambda: (
                mock.patch.object(
                    Visit,
                    "checks_complete",
                    property(_ignoring(Visit.checks_complete.fget, "clotting_checked", None)),
                )
            ),
        },
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
        "H42": lambda: mock.patch(given + "_check_given_during_visit", _noop),
        "H43": lambda: mock.patch(given + "_check_given_elsewhere", lambda *args: {}),
        "H44": lambda: _patch_all(
            mock.patch(visits + "_keep_what_was_said", lambda visit, answers: answers),
            mock.patch.object(Visit, "STANDING_FIELDS", Visit.SYMPTOM_FIELDS),
        ),
        "H45": lambda: mock.patch("schedules.booking.services.check_same_day_retry", _noop),
        "H46": lambda: _patch_all(
            mock.patch("schedules.booking.selectors._arrived_without_outcome", lambda *args: []),
            mock.patch.object(planning, "future_bookings", future_bookings_with_arrived),
        ),
        "H47": lambda: mock.patch(visits + "_check_early_discharge", _noop),
        "H48": lambda: _patch_all(
            mock.patch(given + "_check_csf_bounds", _noop),
            mock.patch(given + "_check_full_dose", lambda *args: ""),
        ),
        "H49": lambda: mock.patch(given + "_check_allowed", _noop),
        "H50": lambda: mock.patch(
            "schedules.visits.selectors.resolving_calls", FollowUpCall.objects.all
        ),
        # Looked up by the worklist (selectors) and by the call service (follow_up).
        "H51": lambda: _patch_all(
            mock.patch("schedules.visits.selectors.next_open_day", next_calendar_day),
            mock.patch("schedules.visits.follow_up.next_open_day", next_calendar_day),
        ),
        "H52": lambda: mock.patch.object(
            AdverseEvent,
            "needs_review",
            property(lambda self: self.serious or self.term in self.SERIOUS_NEUROLOGICAL),
        ),
        "H53": lambda: mock.patch(
            "schedules.plph.red_flags",
            lambda answers: [
                flag for flag in ("fever", "vision_change") if plph.triage_answers(answers)[flag]
            ],
        ),
        "H54": lambda: mock.patch("schedules.visits.follow_up._check_triaged", _noop),
        "H55": lambda: mock.patch(
            "schedules.visits.follow_up.may_close_follow_up", lambda user: True
        ),
        "H56": admin_editable,
        "H57": unbounded_policy,
        "H58": {
            "test_control_a_dose_already_given_cannot_be_booked": lambda: mock.patch.object(
                booking,
                "check_dose_open",
                _ignoring(booking.check_dose_open, "given_at", None),
            ),
            "test_control_a_dose_cannot_be_booked_before_the_previous_doses_date": lambda: (
                mock.patch.object(booking, "check_after_previous", _noop)
            ),
        },
        "H59": lambda: mock.patch(given + "_check_not_given_yet", _noop),
        "H60": lambda: mock.patch.object(
            safety,
            "_check_dose_given_before",
            lambda course, dose, onset: original_dose_given_before(course, dose, date.max),
        ),
        "H66": recent_is_newest_only,
        "H67": lambda: mock.patch("tofersen_scheduler.security.passive_refresh", lambda r: False),
        "H61": {
            "test_control_not_given_cannot_be_recorded_before_the_visits_day": lambda: mock.patch(
                visits + "_check_visit_day_reached", _noop
            ),
            "test_control_arrived_only_on_the_visits_day": lambda: mock.patch(
                visits + "_check_on_the_day", _noop
            ),
            "test_control_discharge_cannot_be_before_the_dose": lambda: mock.patch(
                visits + "_check_time", discharge_any_time
            ),
        },
        # A notice that names the patient the way the pages do (name, date of birth).
        "H62": lambda: mock.patch(
            "schedules.notices.patient_line",
            lambda patient: f"{patient.full_name}, born {patient.date_of_birth:%d %B %Y}",
        ),
        # Issue 19: a failed visit's day offered again; suggestions outside the window; a
        # series moved half-way.
        "H63": lambda: _patch_all(
            mock.patch("schedules.planning.suggestions.failed_days", lambda course: {}),
            mock.patch("schedules.booking.selectors.failed_days", lambda course: {}),
        ),
        "H64": lambda: mock.patch(
            "schedules.planning.suggestions.rank_offers", rank_around_the_window
        ),
        "H65": lambda: _patch_all(
            mock.patch("schedules.booking.series.move_series", series_not_atomic),
            mock.patch("schedules.services.move_series", series_not_atomic),
        ),
        # Messages to patients (issue 18).
        "H68": lambda: mock.patch(
            "schedules.messaging.sending.visit_cancelled", lambda booking: False
        ),
        "H69": lambda: mock.patch("schedules.messaging.sending.reclaim_stale", lambda now=None: 0),
        "H70": lambda: mock.patch(
            "schedules.messaging.texts.without_health_information",
            lambda text: ", ".join(part.strip() for part in text.split("\n") if part.strip()),
        ),
        "H71": lambda: mock.patch(
            "schedules.messaging.sending.told_not_to_come", lambda course: False
        ),
        # Issue 19: the unit's people and places (`schedules.unit.resources`).
        "H72": lambda: mock.patch(resources + "bed_refusal", _noop),
        "H73": lambda: mock.patch(resources + "operator_shortage", _noop),
        "H74": {
            "test_control_an_unqualified_operator_cannot_be_assigned": lambda: mock.patch(
                resources + "operator_refusal", _noop
            ),
            "test_control_the_board_says_when_the_assigned_operators_competency_lapsed": (
                lambda: mock.patch(resources + "operator_warning", lambda *args: "")
            ),
        },
        "H75": lambda: mock.patch(resources + "imaging_refusal", _noop),
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
    control = control_patches()[hazard]
    if isinstance(control, dict):  # several controls: the one this test guards
        control = control[request.node.originalname]
    with control():
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
