"""The live board in Chromium (issue 20 §1–2, Done means): two nurses on two browsers, a change
in one shows in the other within 20 seconds through the real poll (304s while nothing changes);
a keyboard-only walk of the day, focus staying on the row after each in-place button; the board
and My tasks clean under axe at 1366 and 390 px."""

import json
import re
import time
from datetime import date
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from schedules import services
from schedules.models import Booking, Slot
from tests.factories import PASSWORD, frozen, give, make_course, make_patient, make_user
from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, CLEAR_CHECKS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MONDAY = date(2026, 3, 2)
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ARTIFACTS / "board"  # screenshots to look at (git-ignored)
POLL = re.compile(r"/day/\d{4}-\d{2}-\d{2}/board/")


@pytest.fixture
def booked_today(unit, nurse):
    with frozen(MONDAY, 8, tick=True):
        services.generate_slots(unit=unit, weeks=1)
        course = make_course(make_patient("H123456", given_name="Grace", family_name="Hopper"))
        slot = Slot.objects.on_day(unit, MONDAY).order_by("start").first()
        yield services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)


@pytest.fixture
def chromium(transactional_db, live_server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    connections.close_all()


def signed_in(browser, live_server, username, *, width=1366, height=900, bypass_csp=False):
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="en-GB", bypass_csp=bypass_csp
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: reverse("login") not in url)
    return page


def row(page, name="Grace Hopper"):
    return page.locator("tr.board-row").filter(has_text=name)


def test_a_change_by_one_nurse_shows_on_the_other_nurses_board(
    booked_today, chromium, live_server, settings
):
    settings.BOARD_POLL_SECONDS = 2  # the real poll, only more often than 15 s
    make_user("nurse2", "Nurse")
    with frozen(MONDAY, 9, 1, tick=True):
        first = signed_in(chromium, live_server, "nurse")
        second = signed_in(chromium, live_server, "nurse2")
        polls = []
        second.on(
            "response",
            lambda response: POLL.search(response.url) and polls.append(response.status),
        )
        for page in (first, second):
            page.goto(live_server.url + reverse("schedules:today"))
            expect(row(page)).to_contain_text("Booked")
        # While nothing changes, the other board's polls are answered 304.
        second.wait_for_timeout(4500)
        assert polls and set(polls) == {304}, polls
        row(first).get_by_role("button", name="Arrived").click()
        expect(row(first)).to_contain_text("Arrived")
        changed = time.monotonic()
        expect(row(second).locator(".board-badge")).to_have_text("Arrived", timeout=20_000)
        assert time.monotonic() - changed < 20
        expect(
            second.locator(".board-count[data-stage='arrived'] .board-count-number")
        ).to_have_text("1")
        assert 200 in polls
        SHOTS.mkdir(parents=True, exist_ok=True)
        second.screenshot(path=str(SHOTS / "two-nurses-second.png"), full_page=True)
    assert Booking.objects.get(pk=booked_today.pk).status == "arrived"


def focused_text(page) -> str:
    return page.evaluate(
        "() => (document.activeElement.innerText || document.activeElement.value || '').trim()"
    )


def tab_to(page, text: str, *, limit=120) -> None:
    """Press Tab until the focused control says `text` (a button or link), as a keyboard user
    would, and fail if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_text(page).startswith(text):
            return
    pytest.fail(f"Tab never reached {text!r}")


def tab_to_field(page, label: str, *, limit=60) -> None:
    """Press Tab until the focused field is the one labelled `label`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        labels = page.evaluate(
            "() => Array.from(document.activeElement.labels || []).map(l => l.innerText).join(' ')"
        )
        if label in labels:
            return
    pytest.fail(f"Tab never reached the field {label!r}")


def answer_checks_by_keyboard(page) -> None:
    """Answer every pre-dose check (all clear) as a keyboard user does: Tab into each yes/no
    question in page order, then Space for its first answer or the arrow keys for another."""
    legends = page.locator("form fieldset legend").all_inner_texts()
    for legend in legends:
        question = next((q for q in CLEAR_CHECKS if q in legend), None)
        if question is None:
            continue
        group = page.get_by_role("group", name=question)
        answer = CLEAR_CHECKS[question]
        index = group.get_by_role("radio").evaluate_all(
            "(radios, answer) => radios.findIndex("
            "r => [...r.labels].some(l => l.innerText.trim() === answer))",
            answer,
        )
        assert index >= 0, f"{question!r} has no answer {answer!r}"
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate(
                "q => (document.activeElement.closest('fieldset')?.querySelector('legend')"
                "?.innerText || '').includes(q)",
                question,
            ):
                break
        else:
            pytest.fail(f"Tab never reached the question {question!r}")
        for _ in range(index):
            page.keyboard.press("ArrowDown")
        if index == 0:
            page.keyboard.press("Space")
        expect(group.get_by_label(answer, exact=True)).to_be_checked()


def test_a_keyboard_only_walk_of_the_day(booked_today, clinician, chromium, live_server, settings):
    """Arrive, checks, give, observation, discharge with Tab, Enter and Space only; after each
    in-place button focus stays on the row (on its next step), not the top of the page."""
    # The walk spans the 60 minutes of observation without a click in between.
    settings.SESSION_IDLE_MINUTES = 180
    settings.SESSION_COOKIE_AGE = 180 * 60
    today = reverse("schedules:today")
    with frozen(MONDAY, 9, 1, tick=True):
        page = signed_in(chromium, live_server, "clinician")
        page.goto(live_server.url + today)
        tab_to(page, "Arrived")
        page.keyboard.press("Enter")
        expect(row(page).locator(".board-badge")).to_have_text("Arrived")
        # Focus stayed on the row: its next step is focused, ready for Enter.
        expect(row(page).get_by_role("link", name="Pre-dose checks")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Pre-dose checks")).to_be_visible()
        answer_checks_by_keyboard(page)
        tab_to(page, "Save checks")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert").first).to_contain_text("Pre-dose checks complete")
        tab_to(page, "Record dose given")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Record dose 1 given")).to_be_visible()
        for label, value in (
            ("Lumbar puncture by", "Dr Lumbar"),
            ("Volume injected", "15"),
            ("CSF removed", "10"),
            ("Vial batch", "QX123"),
        ):
            tab_to_field(page, label)
            page.keyboard.type(value)
        tab_to_field(page, "Vial expiry")
        page.keyboard.type("01312027")  # Chromium's date field, in its (US) order
        tab_to(page, "Record dose given")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert").first).to_contain_text("Dose 1 recorded as given")
        tab_to(page, "Start observation")
        page.keyboard.press("Enter")
        expect(row(page).locator(".board-badge")).to_have_text("In observation")
        expect(row(page).get_by_role("button", name="Discharge")).to_be_focused()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "keyboard-observation.png"), full_page=True)
    with frozen(MONDAY, 10, 30, tick=True):
        # Past the 60 minutes: the observation alert is shown and announced once.
        page.reload()
        alert = row(page).locator(".board-obs-alert")
        expect(alert).to_be_visible()
        expect(page.locator("#board-announcer")).to_contain_text(
            "Grace Hopper: 60 minutes of observation reached"
        )
        page.screenshot(path=str(SHOTS / "keyboard-observation-reached.png"), full_page=True)
        tab_to(page, "Discharge")
        page.keyboard.press("Enter")
        expect(row(page).locator(".board-badge")).to_have_text("Discharged")
        expect(row(page)).to_be_focused()  # no next step: the row itself keeps focus
    assert Booking.objects.get(pk=booked_today.pk).stage == "discharged"


def test_a_refresh_does_not_announce_an_alert_again(
    booked_today, clinician, nurse, chromium, live_server, settings
):
    settings.BOARD_POLL_SECONDS = 1
    with frozen(MONDAY, 9, 1, tick=True):
        services.mark_arrived(booking=booked_today, marked_by=nurse)
        services.record_checks(
            booking=booked_today,
            recorded_by=nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
        )
        give(booked_today, clinician)
    with frozen(MONDAY, 9, 5, tick=True):
        services.start_observation(booking=booked_today, recorded_by=nurse)
    with frozen(MONDAY, 10, 4, 57, tick=True):
        page = signed_in(chromium, live_server, "nurse")
        page.goto(live_server.url + reverse("schedules:today"))
        alert = row(page).locator(".board-obs-alert")
        expect(alert).to_be_hidden()
        expect(alert).to_be_visible(timeout=8_000)  # counted down on the page
        announcer = page.locator("#board-announcer p")
        expect(announcer).to_have_count(1)
        # Another change re-renders the board (a 200): the alert is not announced again.
        services.book_dose_number(
            course=make_course(make_patient("H200002", family_name="Babbage")),
            number=1,
            slot=Slot.objects.on_day(booked_today.slot.unit, MONDAY).order_by("start").last(),
            booked_by=nurse,
        )
        expect(page.locator("tr.board-row").filter(has_text="Babbage")).to_have_count(1)
        page.wait_for_timeout(2500)
        expect(announcer).to_have_count(1)


def _axe(page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in found if v["impact"] in {"serious", "critical"}]


def test_the_live_board_and_my_tasks_pass_axe_at_both_sizes(
    booked_today, nurse, clinician, chromium, live_server
):
    with frozen(MONDAY, 8, tick=True):
        # Something in every list of My tasks, and a board at several stages.
        other = make_course(make_patient("H200002", given_name="Ada", family_name="Byron"))
        services.ask_clinician(course=other, number=1, slot=None, note="Holiday", asked_by=nurse)
        services.record_adverse_event(
            course=booked_today.dose.course,
            term="myelitis",
            onset=MONDAY,
            serious=True,
            recorded_by=clinician,
        )
        arrived = services.book_dose_number(
            course=make_course(make_patient("H300003", given_name="Max", family_name="Born")),
            number=1,
            slot=booked_today.slot,
            booked_by=nurse,
        )
    with frozen(MONDAY, 8, 5, tick=True):
        services.mark_arrived(booking=arrived, marked_by=nurse)
        services.record_checks(
            booking=arrived,
            recorded_by=nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
            fever=True,
        )
    failures = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    with frozen(MONDAY, 9, tick=True):
        for size, (width, height) in {"desktop": (1366, 900), "phone": (390, 844)}.items():
            page = signed_in(
                chromium, live_server, "clinician", width=width, height=height, bypass_csp=True
            )
            for name, url in (
                ("board", reverse("schedules:today")),
                ("tasks", reverse("schedules:tasks")),
            ):
                page.goto(live_server.url + url)
                if name == "tasks":
                    expect(page.locator(".task")).to_have_count(3)
                    expect(page.locator("#tasks-badge")).to_contain_text("3")
                page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
                failures += [f"{size} {name}: {json.dumps(v)}" for v in _axe(page)]
                scrolls = page.evaluate(
                    "() => document.documentElement.scrollWidth"
                    " > document.documentElement.clientWidth + 1"
                )
                if size == "phone" and scrolls:
                    failures.append(f"{size} {name}: the page scrolls sideways")
            page.context.close()
    assert not failures, "\n".join(failures)
