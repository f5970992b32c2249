"""A clinician in the browser: registers a patient, records both consents, starts treatment
and reads the timeline; a nurse sees the record but not the clinician's buttons."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from patients.models import Patient
from schedules import services
from schedules.models import TreatmentCourse
from tests.factories import MONDAY, frozen, make_patient
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def monday_morning():
    with frozen(MONDAY, 8, tick=True):
        yield


def test_clinician_registers_consents_and_starts_a_course(
    live_server, unit, clinician, monday_morning, page, screenshot
):
    log_in(page, live_server, "clinician")
    page.locator("nav.navbar").get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Hospital number").fill("h777001")
    page.get_by_label("NHS number").fill("943 476 5918")  # a typo in the check digit
    page.get_by_label("Given name").fill("Rosalind")
    page.get_by_label("Family name").fill("Franklin")
    page.get_by_label("Date of birth").fill("1960-07-25")
    page.get_by_label("SOD1 variant").fill("p.Ala5Val (A4V)")
    page.get_by_label("SOD1 mutation confirmed on").fill("2026-02-10")
    page.get_by_role("button", name="Register patient").click()
    # The summary at the top names the problem and links to the field; the field says it too.
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary.get_by_role("link", name="NHS number: This NHS number fails")).to_be_visible()
    expect(page.locator(".invalid-feedback", has_text="fails its check digit")).to_be_visible()
    screenshot("nhs-typo")
    assert not Patient.objects.exists()

    page.get_by_label("NHS number").fill("943 476 5919")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Rosalind Franklin")).to_be_visible()
    expect(page.get_by_text("No dose can be booked or given yet")).to_be_visible()

    for form in ["Hospital consent form", "Manufacturer early-access consent form"]:
        page.get_by_role("link", name="Record consent").click()
        page.get_by_label("Form").select_option(label=form)
        page.get_by_label("Signed on").fill("2026-02-20")
        page.get_by_role("button", name="Record consent").click()
        expect(page.get_by_role("alert").first).to_contain_text(f"{form} recorded")
    expect(page.get_by_text("No dose can be booked or given yet")).to_have_count(0)

    page.get_by_role("link", name="Start treatment course").click()
    page.get_by_label("Start date").fill("2026-03-02")
    page.get_by_role("button", name="Start treatment course").click()

    expect(page.get_by_role("alert").first).to_contain_text("dose 1 due Mon 2 Mar 2026")
    timeline = page.get_by_role("table", name="Dose timeline")
    expect(timeline.locator("tr[data-dose='1']")).to_contain_text("Due")
    expect(timeline.locator("tr[data-dose='3']")).to_contain_text("Mon 30 Mar 2026")
    expect(timeline.locator("tr[data-dose='4']")).to_contain_text("Maintenance")
    screenshot("timeline")
    assert TreatmentCourse.objects.get().patient.nhs_number == "9434765919"


def test_nurse_sees_the_record_but_not_the_clinicians_actions(
    live_server, unit, nurse, clinician, monday_morning, page, screenshot
):
    patient = make_patient("H777002", given_name="Dorothy", family_name="Hodgkin")
    services.start_course(patient=patient, start_date=date(2026, 3, 2), started_by=clinician)

    log_in(page, live_server, "nurse")
    page.goto(live_server.url + reverse("patients:detail", args=[patient.pk]))
    expect(page.get_by_role("heading", name="Dorothy Hodgkin")).to_be_visible()
    expect(page.get_by_role("link", name="Book", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Pause")).to_have_count(0)
    expect(page.get_by_role("link", name="Record given")).to_have_count(0)
    screenshot("nurse-view")

    page.goto(live_server.url + reverse("courses:start", args=[patient.pk]))
    expect(page.get_by_role("heading", name="You do not have permission")).to_be_visible()


def no_sideways_scroll(page) -> bool:
    """Neither the page nor a table's own scrolling area is wider than the screen."""
    return page.evaluate(
        "[...document.querySelectorAll('html, .table-responsive')]"
        ".every(e => e.scrollWidth <= e.clientWidth)"
    )


def test_the_patient_list_worklists_and_month_on_a_phone_need_no_sideways_scroll(
    live_server, unit, nurse, clinician, monday_morning, page, screenshot
):
    """At 390 px the patient list, a patient's doses and Overdue & rebook are one card a row
    with every column named, the month a list of days, and nothing scrolls sideways (the
    tables scrolled inside themselves before, the next dose, the booking buttons and Friday
    to Sunday out of sight)."""
    patient = make_patient("H777003", given_name="Dorothy", family_name="Hodgkin")
    services.start_course(patient=patient, start_date=date(2026, 3, 2), started_by=clinician)
    late = make_patient("H777004", given_name="Rosalind", family_name="Franklin")
    services.start_course(patient=late, start_date=date(2026, 2, 16), started_by=clinician)

    log_in(page, live_server, "nurse")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("patients:list") + "?q=hodgkin")

    card = page.get_by_role("row").filter(has_text="HODGKIN, Dorothy")
    expect(card.get_by_role("cell", name="Next dose: Due Dose 1 · Mon 2 Mar 2026")).to_be_visible()
    expect(card.get_by_role("cell", name="Hospital no.: H777003")).to_be_visible()
    assert card.bounding_box()["width"] > 340, "the patient is not a full-width card"
    assert no_sideways_scroll(page), "the list scrolls sideways on a phone"
    search = page.get_by_role("searchbox", name="Search patients").bounding_box()
    assert search["x"] + search["width"] < 390
    screenshot("patient-list-phone")

    card.get_by_role("link", name="HODGKIN, Dorothy").click()
    dose_1 = page.locator("tr[data-dose='1']")
    expect(dose_1.get_by_role("cell", name="Due: Mon 2 Mar 2026")).to_be_visible()
    expect(dose_1.get_by_role("link", name="Book")).to_be_in_viewport()
    assert no_sideways_scroll(page), "the patient's doses scroll sideways on a phone"
    screenshot("patient-phone")

    page.goto(live_server.url + reverse("schedules:overdue"))
    card = page.get_by_role("row").filter(has_text="Rosalind Franklin")
    expect(card.get_by_role("cell", name="Was due: Mon 16 Feb 2026")).to_be_visible()
    expect(card.get_by_role("link", name="Other dates…")).to_be_in_viewport()
    assert no_sideways_scroll(page), "Overdue & rebook scrolls sideways on a phone"
    screenshot("overdue-phone")

    page.goto(live_server.url + reverse("schedules:calendar"))  # the month: a list of days
    today = page.locator("td.cal-today")
    expect(today).to_be_in_viewport()
    assert today.inner_text().startswith("Mon 2 Mar 2026"), "a day on its own needs its date"
    expect(page.get_by_role("link", name="Day list for Sun 1 Mar 2026")).to_be_hidden()
    assert no_sideways_scroll(page), "the month scrolls sideways on a phone"
    screenshot("month-phone")
