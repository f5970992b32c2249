"""WCAG 2.2 AA, measured: axe-core in Chromium on every page, as each role, at two sizes.

Each page in PAGES is opened as the nurse, the clinician and the admin, at 1366×900 (a common
hospital screen) and 390×844 (a phone). axe-core (npm, pinned in package-lock.json) is read
from node_modules and injected into the page; the test fails on any violation of impact
"serious" or "critical", and on any page that scrolls sideways at 390 px outside a data
table's own scroll area (WCAG 1.4.10 reflow). A page a role may not open is audited as the
403 page that role sees. Screenshots go to test-artifacts/a11y-<role>-<size>-<page>.png.

To audit a new page, add a row to PAGES: a name, and a function from the demo records to the
page's URL (and `submit=True` to audit its error state: the form sent empty, with the
browser's own validation off, so the server's error summary is what the user sees).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import sync_playwright

from schedules import services
from schedules.messaging.models import Message, WorkerHeartbeat
from schedules.models import Closure, Slot
from tests.factories import PASSWORD, frozen, give_dose, make_course, make_patient, make_user
from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
ROLES = {"nurse": "Nurse", "clinician": "Clinician", "admin": "Admin"}
BLOCKING = {"serious", "critical"}


@dataclass(frozen=True)
class Audited:
    name: str
    url: Callable[[SimpleNamespace], str]
    submit: bool = False  # send the page's main form empty and audit the errors it shows


def _u(name, *args):
    return lambda d: reverse(name, args=[getattr(d, a) if isinstance(a, str) else a for a in args])


PAGES = [
    Audited("login", lambda d: reverse("login")),
    Audited("today", _u("schedules:today")),
    Audited("day", lambda d: reverse("schedules:day", args=[MONDAY + timedelta(days=1)])),
    Audited("day-closed", lambda d: reverse("schedules:day", args=[MONDAY + timedelta(days=2)])),
    Audited("needs-booking", _u("schedules:needs_booking")),
    Audited("overdue", _u("schedules:overdue")),
    Audited("month", _u("schedules:calendar")),
    Audited("month-past", lambda d: reverse("schedules:calendar") + "?month=2026-02"),
    Audited("week", _u("schedules:week")),
    Audited("book-day", lambda d: reverse("schedules:book_day", args=[MONDAY + timedelta(days=1)])),
    Audited("book", lambda d: reverse("schedules:book", args=[d.later_course.pk, 1])),
    Audited("book-next", _u("schedules:book_next", "course_id")),
    Audited("booking", _u("schedules:booking", "booking_id")),
    Audited("reschedule", _u("schedules:reschedule", "booking_id")),
    Audited("cancel", _u("schedules:cancel", "booking_id")),
    Audited("patients", _u("patients:list")),
    Audited("patient-search", lambda d: reverse("patients:list") + "?q=hopper"),
    Audited("patient", _u("patients:detail", "patient_id")),
    Audited("patient-new", _u("patients:create")),
    Audited("patient-new-errors", _u("patients:create"), submit=True),
    Audited("patient-edit", _u("patients:edit", "patient_id")),
    Audited("consent-new", _u("patients:consent_add", "patient_id")),
    Audited("consent-withdraw", _u("patients:consent_withdraw", "patient_id", "consent_id")),
    Audited("course-start", _u("courses:start", "new_patient_id")),
    Audited("course-pause", _u("courses:pause", "patient_id", "course_id")),
    Audited("course-pause-errors", _u("courses:pause", "patient_id", "course_id"), True),
    Audited("course-stop", _u("courses:stop", "patient_id", "course_id")),
    Audited("course-resume", _u("courses:resume", "paused_patient_id", "paused_id")),
    Audited("course-correct-start", _u("courses:correct_start", "patient_id", "course_id")),
    Audited(
        "dose-given", lambda d: reverse("courses:dose_record", args=[d.patient_id, d.course_id, 1])
    ),
    Audited("visit-checks", _u("schedules:visit_checks", "booking_id")),
    Audited("visit-checks-errors", _u("schedules:visit_checks", "booking_id"), True),
    Audited("visit-not-given", _u("schedules:visit_not_given", "booking_id")),
    Audited("visit-give", _u("schedules:visit_give", "booking_id")),
    Audited("adverse-event", _u("schedules:adverse_event", "course_id")),
    Audited("review", _u("schedules:review", "course_id")),
    Audited("follow-up", _u("schedules:follow_up")),
    Audited("capacity", _u("schedules:capacity")),
    Audited("quality", _u("quality:page")),
    Audited(
        "quality-errors", lambda d: reverse("quality:page") + "?start=2026-03-01&end=2026-01-01"
    ),
    Audited("letter", lambda d: reverse("feeds:letter", args=[d.patient_id])),
    Audited("staff-feed", _u("feeds:staff_link")),
    Audited("messages", _u("messaging:page")),
]


def _demo_records(unit):
    """A unit with slots, a patient booked today, one overdue, one paused, one not started."""
    services.generate_slots(unit=unit, weeks=6)
    grace = make_patient(
        "H123456",
        given_name="Grace",
        family_name="Hopper",
        nhs_number="9434765919",
        mobile_phone="+447911123456",
        preferred_channel="sms",
        reminders_agreed_on=date(2026, 1, 5),
    )
    course = make_course(grace, start=MONDAY)
    slot = Slot.objects.filter(start__date=MONDAY).order_by("start").first()
    admin = make_user("setup", "Admin", is_staff=True)
    booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=admin)
    alan = make_patient("H654321", given_name="Alan", family_name="Turing")
    later = make_course(alan, start=MONDAY - timedelta(days=20))
    paused_patient = make_patient("H777777", given_name="Mary", family_name="Somerville")
    paused = make_course(paused_patient, start=MONDAY - timedelta(days=3))
    services.pause_course(course=paused, on=MONDAY, reason="side_effects", recorded_by=admin)
    new = make_patient("H888888", given_name="Rosalind", family_name="Franklin")
    # The flow board at every stage: one arrived (its undo offered), one in observation, and
    # a closed day with a booking on it that the board says to reschedule.
    arrived = make_course(make_patient("H222222", given_name="Ada", family_name="Byron"), MONDAY)
    arrived_booking = services.book_dose_number(
        course=arrived, number=1, slot=slot, booked_by=admin
    )
    services.mark_arrived(booking=arrived_booking, marked_by=admin)
    observed = make_course(make_patient("H333333", given_name="Max", family_name="Born"), MONDAY)
    second = Slot.objects.filter(start__date=MONDAY).order_by("start")[1]
    services.book_dose_number(course=observed, number=1, slot=second, booked_by=admin)
    given = give_dose(services.dose_for(course=observed, number=1), timezone.now(), admin)
    services.start_observation(booking=given.bookings.get(), recorded_by=admin)
    closed_day = MONDAY + timedelta(days=2)
    services.book_dose_number(
        course=make_course(make_patient("H444444", family_name="Closed"), closed_day),
        number=1,
        slot=Slot.objects.filter(start__date=closed_day).order_by("start").first(),
        booked_by=admin,
    )
    Closure.objects.create(
        unit=unit, start_date=closed_day, end_date=closed_day, reason="Staff training"
    )
    # Messages to patients (issue 18): one failed for good (Fix contact details) and a worker
    # silent for an hour, so every page is audited with the staff banner.
    Message.objects.filter(booking=booking, kind="booked").update(
        status="permanent_failure",
        failure_reason="Notify 400: phone_number Not a UK mobile number",
        failed_at=timezone.now(),
    )
    WorkerHeartbeat.objects.create(name="task worker", beat_at=timezone.now() - timedelta(hours=1))
    return SimpleNamespace(
        patient_id=grace.pk,
        course_id=course.pk,
        booking_id=booking.pk,
        consent_id=grace.consents.first().pk,
        later_course=later,
        paused_patient_id=paused_patient.pk,
        paused_id=paused.pk,
        new_patient_id=new.pk,
    )


def _audit(page) -> list[dict]:
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in results if v["impact"] in BLOCKING]


def _scrolls_sideways(page) -> bool:
    """True when the page itself is wider than the viewport (a table's own scroll area is fine)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_page_passes_axe_at_both_sizes(live_server, unit, role):
    """Zero serious or critical axe violations, and no sideways scroll on a phone."""
    with frozen(MONDAY, 8, tick=True):
        records = _demo_records(unit)
        make_user(role, ROLES[role], is_staff=role == "admin", is_superuser=role == "admin")
        failures = _run_audit(live_server, role, records)
    if failures:
        (ARTIFACTS / f"a11y-{role}.txt").write_text("\n".join(failures) + "\n")
    assert not failures, "\n" + "\n".join(failures)


def _run_audit(live_server, role, records) -> list[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    axe_source = AXE.read_text()
    failures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        for size, (width, height) in SIZES.items():
            # bypass_csp: the audit script is ours, injected by the test, not by the page.
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale="en-GB", bypass_csp=True
            )
            context.set_default_timeout(10_000)
            page = context.new_page()
            _log_in(page, live_server, role)
            for audited in PAGES:
                if audited.name == "login":
                    login_context = browser.new_context(
                        viewport={"width": width, "height": height}, bypass_csp=True
                    )
                    target = login_context.new_page()
                else:
                    target = page
                response = target.goto(live_server.url + audited.url(records))
                if audited.submit and response.ok:
                    target.evaluate(
                        "() => document.querySelectorAll('form').forEach(f => f.noValidate = true)"
                    )
                    target.locator("main form [type=submit]").last.click()
                    target.wait_for_load_state()
                target.add_script_tag(content=axe_source)
                label = f"{role} {size} {audited.name} (HTTP {response.status})"
                found = [f"{label}: {json.dumps(violation)}" for violation in _audit(target)]
                if size == "phone" and _scrolls_sideways(target):
                    found.append(f"{label}: the page scrolls sideways at {width} px")
                if found:  # a screenshot of each failing page only
                    target.screenshot(
                        path=str(ARTIFACTS / f"a11y-{role}-{size}-{audited.name}.png"),
                        full_page=True,
                    )
                failures += found
                if audited.name == "login":
                    login_context.close()
            context.close()
        browser.close()
    connections.close_all()
    return failures


def _log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: reverse("login") not in url)
