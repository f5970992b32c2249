"""The letter's buttons in a real browser: issue, print, reissue; a staff member's own link."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from patients.models import FeedToken
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_nurse_issues_prints_and_reissues_in_chromium(live_server, page, nurse, patient):
    """Chromium sends an Origin header with each POST that Django's CSRF check must accept;
    the test client sends none, so only a browser proves the buttons work."""
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "nurse")

    page.goto(live_server.url + reverse("patients:detail", args=[patient.pk]))
    page.get_by_role("button", name="Issue link and print letter").click()
    expect(page.get_by_text("webcal://")).to_be_visible()
    expect(page.locator(".letter svg.segno")).to_be_visible()

    # The letter came back from the POST; opening it again shows no link.
    page.goto(live_server.url + reverse("feeds:letter", args=[patient.pk]))
    expect(page.get_by_text("Link hidden — issue a new one to print it again")).to_be_visible()
    # Staff-only words never print on the patient's letter.
    page.emulate_media(media="print")
    expect(page.get_by_text("Link hidden — issue a new one to print it again")).to_be_hidden()
    expect(page.get_by_text("Your calendar link was given to you on")).to_be_visible()
    page.emulate_media(media="screen")
    page.get_by_role("button", name="Issue a new calendar link").click()
    expect(page.get_by_text("webcal://")).to_be_visible()
    assert FeedToken.objects.filter(patient=patient).count() == 2

    page.goto(live_server.url + reverse("feeds:staff_link"))
    page.get_by_role("button", name="Issue my link").click()
    expect(page.get_by_text("Copy it now")).to_be_visible()
    page.get_by_role("button", name="Revoke my link").click()
    expect(page.get_by_text("Your calendar link is revoked.")).to_be_visible()
