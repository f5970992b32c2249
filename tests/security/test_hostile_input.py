"""Hostile input to every form, as every role: never a 500, and a refusal changes no row
(issue 9; OWASP ASVS L2 V5.1). Property-based with Hypothesis.

The table FORMS lists every form: its URL name, how to build the URL's arguments from the
`world` (a unit, an eligible patient with a course, a booking, a consent), the method, and each
field with a valid value. Hypothesis keeps or replaces each value with a hostile one (NUL and
other control characters, over-long text, other digit scripts, out-of-range numbers and dates,
malformed choices) and posts it. To cover a new form, add one row.
"""

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.models import Consent, FeedToken, Patient
from schedules.models import (
    AdverseEvent,
    Booking,
    CourseEvent,
    Dose,
    FollowUpCall,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
)
from tests.factories import make_user

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)
WATCHED = [
    Patient,
    Consent,
    FeedToken,
    TreatmentCourse,
    CourseEvent,
    Dose,
    Slot,
    Booking,
    Unit,
    Visit,
    AdverseEvent,
    FollowUpCall,
]


@dataclass
class Form:
    url_name: str
    kwargs: object  # World -> dict of URL kwargs
    fields: dict = field(default_factory=dict)  # name -> a valid value
    method: str = "post"
    roles: tuple = ("nurse", "clinician", "admin")
    done: int = 302  # the status of a success; anything else is a refusal and changes no row


def _patient(w):
    return {"pk": w.patient.pk}


def _course(w):
    return {"pk": w.patient.pk, "course_pk": w.course.pk}


def _booking(w):
    return {"booking_id": w.booking.pk}


PATIENT_FIELDS = {
    "hospital_number": "H100001",
    "nhs_number": "943 476 5919",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1970-05-17",
    "could_be_pregnant": "",
    "phone": "020 7946 0001",
    "email": "ada@example.org",
    "address": "1 Road",
    "sod1_variant": "p.Ala5Val (A4V)",
    "sod1_confirmed_on": "2025-01-10",
}
CHANGE = {
    "on": "2026-03-02",
    "reason": "side_effects",
    "reason_detail": "Headache",
    # The fingerprint of the preview shown, and the "Preview changes" button (issue 10).
    "previewed": "0123456789abcdef",
    "preview": "1",
}

FORMS = [
    Form("patients:list", lambda w: {}, {"q": "Lovelace", "page": "1"}, method="get"),
    Form("patients:create", lambda w: {}, {**PATIENT_FIELDS, "hospital_number": "H999"}),
    Form("patients:edit", _patient, PATIENT_FIELDS),
    Form("patients:consent_add", _patient, {"kind": "hospital", "signed_on": "2025-03-01"}),
    Form(
        "patients:consent_withdraw",
        lambda w: {"pk": w.patient.pk, "consent_pk": w.consent.pk},
        {"withdrawn_on": "2026-03-01"},
    ),
    Form("courses:start", _patient, {"start_date": "2026-03-02"}),
    Form("courses:pause", _course, CHANGE),
    Form("courses:stop", _course, CHANGE),
    Form(
        "courses:resume",
        _course,
        {"on": "2026-03-02", "restart_loading": "on", "previewed": "0123456789abcdef"},
    ),
    Form("courses:correct_start", _course, {"start_date": "2026-03-09", "reason": "Year typo"}),
    Form(
        "courses:dose_record",
        lambda w: {**_course(w), "number": 1},
        {
            "given_at": "2026-03-02T09:30",
            "operator": "Dr A",
            "needle": "22G",
            "imaging": "none",
            "csf_removed_ml": "10",
            "vial_batch": "B1",
            "vial_expiry": "2027-01-01",
            "notes": "",
        },
    ),
    Form(
        "schedules:book",
        lambda w: {"course_id": w.course.pk, "number": 2},
        {"slot": "other_slot", "override_reason": "Clinical need"},
    ),
    Form(
        "schedules:book",
        lambda w: {"course_id": w.course.pk, "number": 2},
        {"start": "2026-03-09"},
        method="get",
    ),
    Form("schedules:book_next", lambda w: {"course_id": w.course.pk}, {"choice": "2:other_slot"}),
    Form(
        "schedules:reschedule",
        _booking,
        {"slot": "other_slot", "override_reason": "Asked", "previewed": "0123456789abcdef"},
    ),
    Form("schedules:reschedule", _booking, {"slot": "other_slot", "preview": "1"}),
    # The preview panel refreshed for another slot (htmx or a link).
    Form("schedules:reschedule", _booking, {"slot": "other_slot"}, method="get"),
    Form("schedules:cancel", _booking, {"reason": "Patient unwell"}),
    Form("schedules:admit_day_before", _booking, {"admit_day_before": "yes"}),
    # The waitlist (issue 19 item 5).
    Form("schedules:waitlist_set", _booking, {"notice_days": "3", "scope": "next"}),
    Form("schedules:waitlist_clear", _booking, {"next": "/waitlist/"}),
    Form(
        "schedules:move_earlier",
        _booking,
        {"slot": "other_slot", "previewed": "0123456789abcdef", "next": "/waitlist/"},
    ),
    # Issue 19: who does the lumbar puncture ("" = nobody yet; the choices are the rota's).
    Form("schedules:assign_operator", _booking, {"operator": ""}),
    Form("schedules:arrived", _booking, {"next": "/today/"}),
    Form("schedules:noshow", _booking, {"next": "/today/"}),
    Form("schedules:undo_arrived", _booking, {"next": "/today/"}),
    Form("schedules:undo_noshow", _booking, {"next": "/today/"}),
    Form("schedules:generate_slots", lambda w: {}, {"next": "/calendar/"}),
    Form(
        "schedules:ask_clinician",
        lambda w: {"course_id": w.course.pk, "number": 2},
        {"slot": "other_slot", "note": "Patient asks for the 16th", "next": "/overdue/"},
    ),
    # The visit (issue 7): each step posts to the booking and redirects back.
    Form(
        "schedules:visit_checks",
        _booking,
        {
            "identity_confirmed": "yes",
            "symptom_headache": "no",
            "symptom_neck_stiffness": "no",
            "symptom_vision": "no",
            "symptom_numbness_weakness": "no",
            "fever": "no",
            "pregnancy": "no",
            "blood_sample_taken": "yes",
            "clotting_checked": "not_requested",
        },
    ),
    Form("schedules:visit_clear", _booking, {"note": "Reviewed: symptom explained"}),
    Form(
        "schedules:visit_give",
        _booking,
        {
            "given_at": "2026-03-02T09:30",
            "operator": "Dr A",
            "needle": "22G",
            "imaging": "none",
            "csf_removed_ml": "10",
            "volume_injected_ml": "15",
            "vial_batch": "B1",
            "vial_expiry": "2027-01-01",
            "override_reason": "",
            "notes": "",
        },
    ),
    Form("schedules:visit_not_given", _booking, {"reason": "unwell", "detail": ""}),
    Form("schedules:visit_observe", _booking, {"next": "/today/"}),
    Form("schedules:visit_discharge", _booking, {"next": "/today/"}),
    Form(
        "schedules:adverse_event",
        lambda w: {"course_id": w.course.pk},
        {
            "term": "back_pain",
            "onset": "2026-03-02",
            "severity": "mild",
            "relation": "procedure",
            "outcome": "ongoing",
            "action_taken": "Paracetamol",
            "hours_since_onset": "3",
        },
    ),
    Form(
        "schedules:review",
        lambda w: {"course_id": w.course.pk},
        {"decision": "continue", "on": "2026-03-02", "note": "Reviewed"},
    ),
    Form(
        "schedules:follow_up_call",
        lambda w: {"dose_id": w.booking.dose_id},
        {"outcome": "no_problems", "note": ""},
    ),
    Form("schedules:calendar", lambda w: {}, {"month": "2026-03"}, method="get"),
    Form("schedules:week", lambda w: {}, {"week": "2026-03-02"}, method="get"),
    # Issuing answers with the page that shows the new link once (200), not a redirect.
    Form("feeds:issue", lambda w: {"patient_id": w.patient.pk}, done=200),
    Form("feeds:revoke", lambda w: {"patient_id": w.patient.pk}),
    Form("feeds:staff_issue", lambda w: {}, done=200),
    Form("feeds:staff_revoke", lambda w: {}),
    Form("login", lambda w: {}, {"username": "nurse", "password": "x"}, roles=("anonymous",)),
    Form("two_factor:verify", lambda w: {}, {"token": "123456", "next": "/"}),
    Form("session_keepalive", lambda w: {}),
    Form("two_factor:enrol", lambda w: {}, {"token": "123456", "next": "/"}),
    Form(
        "password_change",
        lambda w: {},
        {"old_password": "x", "new_password1": "y", "new_password2": "y"},
    ),
    Form(
        "admin:schedules_unit_change",
        lambda w: {"object_id": w.slot.unit_id},
        {
            "name": "Unit",
            "address": "Ward 7",
            "phone": "020",
            "time_zone": "Europe/London",
            "book_early_days": "0",
            "flag_late_days": "7",
            "horizon_weeks": "16",
            "needs_booking_weeks": "6",
            "calendar_title": "Hospital appointment",
            "arrive_minutes_before": "15",
            "session_templates-TOTAL_FORMS": "0",
            "session_templates-INITIAL_FORMS": "0",
            "closures-TOTAL_FORMS": "0",
            "closures-INITIAL_FORMS": "0",
        },
        roles=("admin",),
    ),
]

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "\x1b[31mred",
            "\x07\x08\x7f",
            "\u202eevil",
            "٩٤٣٤٧٦٥٩١٩",
            "９４３４７６５９１９",
            "²",
            "²:16",
            "40000:16",
            "1:" + "9" * 30,
            ":",
            "-1",
            "-99.9",
            "40000",
            "99999999999999999999999",
            "1e308",
            "NaN",
            "Infinity",
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "1899-12-31T00:00",
            "x" * 20_000,
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "Europe/Londn",
            "../../etc/passwd",
            "%00",
            "on",
        ]
    ),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _snapshot():
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in WATCHED}


def _valid(value, world):
    if value == "other_slot":
        return str(world.other_slot.pk)
    if value == "2:other_slot":
        return f"2:{world.other_slot.pk}"
    return value


@pytest.fixture
def sign_in(client, db):
    def as_role(role):
        if role == "anonymous":
            return client
        extra = {"is_staff": True, "is_superuser": True} if role == "admin" else {}
        client.force_login(make_user(role, role.title(), **extra))
        return client

    return as_role


CASES = [(form, role) for form in FORMS for role in form.roles]


@pytest.mark.parametrize(
    ("form", "role"), CASES, ids=[f"{f.url_name}-{f.method}-{r}" for f, r in CASES]
)
def test_hostile_values_never_cause_a_500_or_a_partial_write(form, role, world, sign_in):
    client = sign_in(role)
    url = reverse(form.url_name, kwargs=form.kwargs(world))
    names = list(form.fields) or ["unexpected"]
    valid = {name: _valid(form.fields.get(name, ""), world) for name in names}

    @settings(
        max_examples=8,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        data=st.fixed_dictionaries(
            {name: st.one_of(st.just(valid[name]), HOSTILE) for name in names}
        )
    )
    def post_hostile(data):
        with transaction.atomic():
            before = _snapshot()
            response = getattr(client, form.method)(url, data)
            assert response.status_code < 500, (data, response.status_code)
            if response.status_code != form.done or _refused(client):
                assert _snapshot() == before, data
            transaction.set_rollback(True)

    post_hostile()


def _refused(client) -> bool:
    """A redirect that carries an error message is a refusal too (book-next, generate)."""
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage

    cookie = client.cookies.get("messages")
    if cookie is None:
        return False
    storage = CookieStorage(None)
    messages = storage._decode(cookie.value) or []
    return any(message.level == constants.ERROR for message in messages)


def test_every_form_of_the_site_is_in_the_table():
    """A new POST form has to be added to FORMS (the lead adds the visit forms on merging)."""
    covered = {form.url_name for form in FORMS}
    from django.urls import get_resolver

    def names(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                ns = f"{pattern.namespace}:" if pattern.namespace else ""
                yield from names(pattern, prefix + ns)
            elif pattern.name:
                yield prefix + pattern.name

    all_names = set(names(get_resolver()))
    # Pages without a form (reads, feeds by token, health) and the admin's own model pages.
    no_form = {
        "healthz",
        "readyz",
        "logout",
        "password_change_done",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "two_factor:recovery_codes",
        "patients:detail",
        "schedules:home",
        "schedules:today",
        "schedules:day",
        "schedules:board_poll",
        "schedules:tasks",
        "schedules:needs_booking",
        "schedules:overdue",
        "schedules:booking",
        "feeds:patient_feed",
        "feeds:subscribe",
        "feeds:staff_feed",
        "feeds:staff_link",
        "feeds:letter",
        "feeds:booking_ics",
        "schedules:follow_up",
        "schedules:capacity",
        "quality:page",
        "quality:export",
        "schedules:book_day",
        "schedules:waitlist",
        "favicon",
        # The read-only FHIR API (GET only, bearer token; tests/fhir/).
        "fhir:metadata",
        "fhir:openapi",
        "fhir:search",
        "fhir:read",
        # Messages to patients: a read page, and Notify's JSON receipt behind a bearer token
        # (no form; bad bodies are 400s in tests/messaging/test_callback.py).
        "messaging:page",
        "messaging:notify_callback",
    }
    missing = {name for name in all_names - covered - no_form if not name.startswith("admin:")}
    assert not missing, f"Add these forms to FORMS in {__name__}: {sorted(missing)}"
    assert User.objects.model is User
