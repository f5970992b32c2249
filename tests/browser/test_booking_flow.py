"""A nurse's day in the browser: book from Needs booking, find it on the calendar and the day
list, move it, mark the patient arrived; and a full slot refused with nothing changed."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from schedules import services
from schedules.models import Booking, Slot
from tests.factories import frozen, make_course, make_patient
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)


@pytest.fixture
def monday_morning():
    # tick=True: the clock runs on from Monday 08:00, so the browser's timers behave.
    with frozen(MONDAY, 8, tick=True):
        yield


def nav(page, name):
    return page.locator("nav.navbar").get_by_role("link", name=name, exact=True)


def test_nurse_books_finds_moves_and_marks_arrived(
    live_server, unit, nurse, monday_morning, page, screenshot
):
    services.generate_slots(unit=unit, weeks=6)
    patient = make_patient("H123456", given_name="Grace", family_name="Hopper")
    make_course(patient, start=MONDAY)
    make_course(
        make_patient("H654321", given_name="Alan", family_name="Turing"), MONDAY + timedelta(days=9)
    )

    log_in(page, live_server, "nurse")
    nav(page, "Needs booking").click()
    expect(page.get_by_role("heading", name="Needs booking")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Grace Hopper")
    expect(row).to_contain_text("Mon 2 Mar – Mon 9 Mar 2026")
    screenshot("needs-booking")
    row.get_by_role("button", name="Book Mon 2 Mar 2026, 09:00").click()

    expect(page.get_by_role("alert").first).to_contain_text("Booked dose 1 for Grace Hopper")
    # One click: still on the worklist, and Grace's row now offers her next dose.
    expect(page.get_by_role("heading", name="Needs booking")).to_be_visible()
    expect(row).to_contain_text("Mon 16 Mar – Mon 23 Mar 2026")
    screenshot("booked")
    booking = Booking.objects.get(dose__course__patient=patient)
    assert booking.slot.start == datetime(2026, 3, 2, 9, tzinfo=LONDON)

    nav(page, "Calendar").click()
    expect(page.get_by_role("heading", name="March 2026")).to_be_visible()
    today_cell = page.locator("td[aria-current=date]")
    expect(today_cell).to_contain_text("1 / 6 booked")
    expect(today_cell).to_contain_text("Today")
    screenshot("calendar-month")

    page.get_by_role("link", name="Week view").click()
    expect(page.get_by_text("Grace Hopper")).to_be_visible()
    screenshot("calendar-week")

    nav(page, "Today").click()
    expect(page.get_by_role("heading", name="Day list: Mon 2 Mar 2026")).to_be_visible()
    # The flow board: each slot (time and places) with who is in it (issue 10).
    slot = page.locator("tbody.board-slot").filter(has_text="Grace Hopper")
    expect(slot).to_contain_text("09:00–11:00")
    row = page.get_by_role("row").filter(has_text="Grace Hopper")
    expect(row).to_contain_text("H123456")
    expect(row).to_contain_text("Dose 1 loading")
    screenshot("day-list")

    row.get_by_text("More").click()
    row.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Reschedule dose 1 for Grace Hopper")).to_be_visible()
    page.get_by_label("Mon 2 Mar 2026, 11:00").check()
    # The preview of what the move changes follows the slot chosen (issue 10).
    expect(page.locator("#change-preview")).to_contain_text("to Mon 2 Mar 2026, 11:00")
    screenshot("reschedule")
    page.get_by_role("button", name="Move to this slot").click()
    expect(page.get_by_role("alert").first).to_contain_text("Moved dose 1 for Grace Hopper")

    nav(page, "Today").click()
    slot = page.locator("tbody.board-slot").filter(has_text="Grace Hopper")
    expect(slot).to_contain_text("11:00–13:00")
    row = page.get_by_role("row").filter(has_text="Grace Hopper")
    row.get_by_role("button", name="Arrived").click()
    expect(page.get_by_role("alert").first).to_contain_text("Grace Hopper has arrived")
    row = page.get_by_role("row").filter(has_text="Grace Hopper")
    expect(row).to_contain_text("Arrived")
    expect(row.get_by_role("button", name="Arrived", exact=True)).to_have_count(0)
    screenshot("arrived")

    active = Booking.objects.active().get(dose__course__patient=patient)
    assert active.status == Booking.Status.ARRIVED
    assert active.slot.start == datetime(2026, 3, 2, 11, tzinfo=LONDON)

    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    screenshot("day-list-print")


def test_booking_into_a_slot_filled_meanwhile_is_refused(
    live_server, unit, nurse, monday_morning, page, screenshot
):
    start = datetime(2026, 3, 3, 9, tzinfo=LONDON)
    slot = Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=1)
    patient = make_patient("H222222", given_name="Katherine", family_name="Johnson")
    make_course(patient, start=MONDAY + timedelta(days=1))
    other = make_course(make_patient("H333333", family_name="Other"), MONDAY + timedelta(days=1))

    log_in(page, live_server, "nurse")
    nav(page, "Needs booking").click()
    row = page.get_by_role("row").filter(has_text="Katherine Johnson")
    button = row.get_by_role("button", name="Book Tue 3 Mar 2026, 09:00")
    expect(button).to_be_visible()

    # Another nurse takes the last place while this page is open.
    services.book_dose_number(course=other, number=1, slot=slot, booked_by=nurse)
    button.click()

    expect(page.get_by_role("alert").first).to_contain_text("is full")
    screenshot("slot-full")
    assert not Booking.objects.filter(dose__course__patient=patient).exists()
    assert Booking.objects.filter(slot=slot).count() == 1


def test_nurse_books_the_next_three_doses_in_one_go(
    live_server, unit, nurse, monday_morning, page, screenshot
):
    services.generate_slots(unit=unit, weeks=8)
    patient = make_patient("H444444", given_name="Mary", family_name="Somerville")
    course = make_course(patient, start=MONDAY + timedelta(days=2))
    overdue = make_course(make_patient("H555555", family_name="Late"), MONDAY - timedelta(days=9))
    assert overdue

    log_in(page, live_server, "nurse")
    nav(page, "Overdue & rebook").click()
    expect(page.get_by_role("row").filter(has_text="H555555")).to_contain_text("9 days late")
    screenshot("overdue")

    page.goto(live_server.url + reverse("schedules:book_next", args=[course.pk]))
    expect(
        page.get_by_role("heading", name="Book the next doses for Mary Somerville")
    ).to_be_visible()
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="Wed 4 Mar 2026").first).to_contain_text("Wed 4 Mar 2026, 09:00")
    expect(rows.filter(has_text="Wed 18 Mar 2026").first).to_contain_text("Wed 18 Mar 2026, 09:00")
    expect(rows.filter(has_text="Wed 1 Apr 2026").first).to_contain_text("Wed 1 Apr 2026, 09:00")
    # The patient asks for a later time for dose 3: each dose's slot can be changed.
    # Each option says how full its day is (issue 19: the reason in words, not a tooltip).
    page.get_by_label("Slot for dose 3").select_option(
        label="Wed 1 Apr 2026, 11:00 — 0 of 6 booked that day"
    )
    screenshot("book-next")
    page.get_by_role("button", name="Book 3 doses").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "Booked doses 1, 2, 3 for Mary Somerville"
    )
    screenshot("book-next-done")
    booked = Booking.objects.active().filter(dose__course=course).order_by("slot__start")
    assert [b.local_date for b in booked] == [
        date(2026, 3, 4),
        date(2026, 3, 18),
        date(2026, 4, 1),
    ]
    assert booked[2].slot.start == datetime(2026, 4, 1, 11, tzinfo=LONDON)


def test_nurse_books_from_the_month_heat_map(live_server, unit, nurse, monday_morning, page):
    services.generate_slots(unit=unit, weeks=6)
    patient = make_patient("H765432", given_name="Ada", family_name="Lovelace")
    make_course(patient, start=MONDAY + timedelta(days=9))  # due Wed 11 Mar

    log_in(page, live_server, "nurse")
    nav(page, "Calendar").click()
    wednesday = page.locator("td").filter(has=page.get_by_label("Day list for Wed 11 Mar 2026"))
    # The dose due that day already shows as demand on the heat map, before it is booked.
    expect(wednesday).to_contain_text("1 due, not booked")
    expect(wednesday).to_have_class(re.compile(r"heat-1"))
    wednesday.get_by_role("link", name="Book into Wed 11 Mar 2026").click()

    expect(page.get_by_role("heading", name="Book into Wed 11 Mar 2026")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Ada Lovelace")
    row.get_by_role("button", name="Book Wed 11 Mar 2026, 11:00").click()

    expect(page.get_by_role("alert").first).to_contain_text("Booked dose 1 for Ada Lovelace")
    expect(page.get_by_role("heading", name="Book into Wed 11 Mar 2026")).to_be_visible()
    booking = Booking.objects.get(dose__course__patient=patient)
    assert booking.slot.start == datetime(2026, 3, 11, 11, tzinfo=LONDON)

    nav(page, "Calendar").click()
    expect(wednesday).to_contain_text("1 / 6 booked")
    expect(wednesday).not_to_contain_text("due, not booked")
    expect(wednesday).to_have_class(re.compile(r"heat-1"))
