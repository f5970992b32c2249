"""Consistency and polish (issue 10 item 6) and the parts of item 7 a test client can see:
one date format, a favicon, an error summary on a failed form, a skip link."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.urls import reverse

from schedules.models import Slot
from tofersen_scheduler.dates import format_day, format_day_range, format_day_time

LONDON = ZoneInfo("Europe/London")


def test_one_date_format_for_days_times_and_ranges():
    assert format_day(date(2026, 11, 26)) == "Thu 26 Nov 2026"
    assert format_day_time(datetime(2026, 11, 26, 9, tzinfo=LONDON)) == "Thu 26 Nov 2026, 09:00"
    assert format_day_range(date(2026, 3, 2), date(2026, 3, 9)) == "Mon 2 Mar – Mon 9 Mar 2026"
    assert format_day_range(date(2026, 12, 28), date(2027, 1, 4)) == (
        "Mon 28 Dec 2026 – Mon 4 Jan 2027"
    )


def test_a_slot_reads_in_the_same_format(unit):
    start = datetime(2026, 11, 26, 9, tzinfo=LONDON)
    slot = Slot(unit=unit, start=start, end=start.replace(hour=11), places=2)
    assert str(slot) == "Thu 26 Nov 2026, 09:00"


def test_the_patient_page_uses_the_one_format(nurse_client, patient):
    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Born Sun 17 May 1970" in page


def test_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"


def test_every_page_links_its_icon_and_a_skip_link(nurse_client):
    page = nurse_client.get(reverse("patients:list")).content.decode()
    assert 'rel="icon"' in page
    assert 'href="#main">Skip to main content</a>' in page
    assert '<main id="main"' in page


def test_a_failed_form_lists_its_errors_at_the_top_with_links_to_the_fields(nurse_client):
    response = nurse_client.post(reverse("patients:create"), {"given_name": "Ada"})
    page = response.content.decode()
    assert response.status_code == 200
    summary = page.split('class="alert alert-danger error-summary"')[1].split("</div>")[0]
    assert "There is a problem" in summary
    assert 'href="#id_hospital_number"' in summary
    assert "This field is required." in summary


def test_a_form_without_errors_has_no_summary(nurse_client):
    page = nurse_client.get(reverse("patients:create")).content.decode()
    assert "error-summary" not in page
