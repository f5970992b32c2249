"""The capacity page and the operator form in Chromium (issue 19): zero axe violations at
1366×900 and 390×844, no sideways scroll of the page on a phone (the table scrolls in its own
labelled region), and an operator assigned with the keyboard alone. Screenshots of each
page and size go to test-artifacts/capacity-<page>-<size>.png for a person to look at."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from schedules import services
from schedules.models import Closure, SessionTemplate, Slot, Unit
from tests.factories import (
    PASSWORD,
    frozen,
    imaging_list,
    make_course,
    make_operator,
    make_patient,
    make_user,
    on_rota,
)
from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
MONDAY = date(2026, 3, 2)
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def _records(unit):
    SessionTemplate.objects.filter(unit=unit).update(beds=3)
    SessionTemplate.objects.filter(unit=unit, weekday=1).update(slot_minutes=60)
    Unit.objects.update(rota_required=True)
    services.generate_slots(unit=unit, weeks=3)
    nurse = make_user("nurse", "Nurse")
    guided = make_operator("lind", until=MONDAY + timedelta(days=200), guided=True)
    lapsing = make_operator("adeyemi", until=MONDAY + timedelta(days=3))
    for slot in Slot.objects.between(unit, MONDAY, MONDAY + timedelta(days=13)):
        on_rota(slot, guided, lapsing)
    tuesday = Slot.objects.on_day(unit, MONDAY + timedelta(days=1)).order_by("start").first()
    imaging_list(tuesday)
    patient = make_patient("H123456", given_name="Grace", family_name="Hopper")
    patient.needs_image_guidance = True
    patient.image_guidance_reason = "Difficult spine"
    patient.save()
    booking = services.book_dose_number(
        course=make_course(patient, start=tuesday.local_date),
        number=1,
        slot=tuesday,
        booked_by=nurse,
    )
    friday = MONDAY + timedelta(days=4)
    services.book_dose_number(
        course=make_course(make_patient("H222222", family_name="Closed"), start=friday),
        number=1,
        slot=Slot.objects.on_day(unit, friday).first(),
        booked_by=nurse,
    )
    Closure.objects.create(unit=unit, start_date=friday, end_date=friday, reason="Flood")
    return booking, guided


@pytest.fixture
def browser_page(transactional_db, live_server):
    """A Chromium page that lets the test inject axe-core (`bypass_csp`: the script is ours)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            viewport={"width": 1366, "height": 900}, locale="en-GB", bypass_csp=True
        )
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()
    connections.close_all()


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: reverse("login") not in url)


def _violations(page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text())
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )


@pytest.mark.parametrize("size", SIZES)
def test_capacity_and_operator_pages_are_axe_clean_and_fit_a_phone(
    live_server, unit, browser_page, size
):
    page = browser_page
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    ARTIFACTS.mkdir(exist_ok=True)
    with frozen(MONDAY, 8, tick=True):
        booking, _ = _records(unit)
        log_in(page, live_server, "nurse")
        pages = {
            "capacity": reverse("schedules:capacity") + "?weeks=2",
            "booking": reverse("schedules:booking", args=[booking.pk]),
            "patient-edit": reverse("patients:edit", args=[booking.dose.course.patient_id]),
            "month": reverse("schedules:calendar"),
        }
        failures = []
        for name, url in pages.items():
            page.goto(live_server.url + url)
            page.screenshot(path=str(ARTIFACTS / f"capacity-{name}-{size}.png"), full_page=True)
            failures += [f"{name} {size}: {v}" for v in _violations(page)]
            wide = page.evaluate(
                "() => document.documentElement.scrollWidth > "
                "document.documentElement.clientWidth + 1"
            )
            if wide:
                failures.append(f"{name} {size}: the page scrolls sideways")
        page.goto(live_server.url + pages["capacity"])
        region = page.get_by_role("region", name="Each day and session")
        expect(region).to_be_visible()
        closed = page.locator('tbody[data-date="2026-03-06"]')
        expect(closed).to_contain_text("Closed: Flood — reschedule 1 booking")
        expect(closed).not_to_contain_text("Over by")
    assert failures == []


def test_an_operator_is_assigned_with_the_keyboard(live_server, unit, browser_page):
    page = browser_page
    with frozen(MONDAY, 8, tick=True):
        booking, guided = _records(unit)
        log_in(page, live_server, "nurse")
        page.goto(live_server.url + reverse("schedules:booking", args=[booking.pk]))
        select = page.get_by_label("Operator on the rota")
        select.focus()
        select.select_option(label=select.locator("option", has_text="Lind").inner_text())
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Assign")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_text("Lind Operator will do the lumbar puncture.")).to_be_visible()
        page.goto(live_server.url + reverse("schedules:day", args=[booking.local_date]))
        expect(page.get_by_text("LP: Lind Operator")).to_be_visible()
    booking.refresh_from_db()
    assert booking.operator == guided


def test_the_capacity_and_booking_pages_keep_the_content_security_policy(live_server, unit, page):
    """No inline style or script on the pages this issue changed (the strict CSP of issue 9):
    Chromium reports none while they load."""
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    with frozen(MONDAY, 8, tick=True):
        booking, _ = _records(unit)
        log_in(page, live_server, "nurse")
        for url in (
            reverse("schedules:capacity"),
            reverse("schedules:booking", args=[booking.pk]),
            reverse("schedules:day", args=[booking.local_date]),
        ):
            page.goto(live_server.url + url)
            page.wait_for_load_state("load")
    assert violations == []
