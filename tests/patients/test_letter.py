"""The printed schedule letter: what a patient takes home after a link is issued."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from patients.models import FeedToken
from patients.services import issue_feed_link, issue_staff_feed_link, revoke_feed_link
from schedules import services
from schedules.feeds.views import qr_svg
from schedules.models import Slot
from tests.factories import make_patient

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def booked_patient(clock, patient, unit, nurse, clinician):
    """Dose 1 booked for Monday 2 March 2026 at 09:00; dose 2 onwards not booked yet."""
    clock(date(2026, 2, 23), 10)
    course = services.start_course(
        patient=patient, start_date=date(2026, 3, 2), started_by=clinician
    )
    start = datetime(2026, 3, 2, 9, tzinfo=LONDON)
    slot = Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=2)
    services.book_dose(dose=services.dose_for(course=course, number=1), slot=slot, booked_by=nurse)
    return patient


def test_issuing_leads_to_the_letter_with_the_link_shown_once(nurse_client, booked_patient):
    response = nurse_client.post(reverse("feeds:issue", args=[booked_patient.pk]))

    page = response.content.decode()
    # The letter is the POST's own response: the raw token is never in a session or a URL.
    assert response.status_code == 200
    assert "Schedule letter" in page
    assert response["Cache-Control"] == "no-store"
    # Not "no-referrer": the page's forms need their Origin header for the CSRF check.
    assert response["Referrer-Policy"] == "same-origin"
    https_link = next(
        part.split("<", 1)[0]
        for part in page.split(">")
        if part.startswith("http://testserver") or part.startswith("http://127.0.0.1")
    )
    token = https_link.rsplit("/", 1)[1].removesuffix(".ics")
    assert FeedToken.objects.lookup(token).patient == booked_patient
    assert "webcal://" in page
    assert "<svg" in page and 'class="segno"' in page

    again = nurse_client.get(reverse("feeds:letter", args=[booked_patient.pk])).content.decode()
    assert token not in again
    assert "webcal://" not in again
    assert "Link hidden — issue a new one to print it again" in again
    assert token not in str(dict(nurse_client.session))


def test_letter_contents(nurse_client, booked_patient, unit):
    nurse_client.post(reverse("feeds:issue", args=[booked_patient.pk]))
    page = nurse_client.get(reverse("feeds:letter", args=[booked_patient.pk])).content.decode()

    # The booked visit in London time, with the arrival time.
    assert "Mon 2 Mar 2026" in page
    assert "09:00" in page and "08:45" in page
    # Provisional dates from the engine: dose 2 due 14 days after dose 1, then dose 3.
    assert "Mon 16 Mar 2026" in page
    assert "Mon 30 Mar 2026" in page
    # What the visit involves and the safety net (DESIGN §2).
    assert "blood test" in page
    assert "lumbar puncture" in page
    assert "15 mL" in page and "1 to 3 minutes" in page
    assert "60 to 90 minutes" in page
    assert "severe headache, neck stiffness, changes in your vision" in page
    assert unit.phone in page
    # A4 print styles live in the stylesheet (strict CSP: no inline <style>).
    assert "/static/css/app.css" in page
    assert "size: A4" in (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    assert "12 to 24 hours" in page


def test_letter_without_a_link(nurse_client, booked_patient):
    page = nurse_client.get(reverse("feeds:letter", args=[booked_patient.pk])).content.decode()
    assert "No calendar link has been issued" in page
    assert "<svg" not in page


def test_link_is_not_shown_for_another_patient(nurse_client, booked_patient):
    other = make_patient("H999999")
    first = nurse_client.post(reverse("feeds:issue", args=[booked_patient.pk])).content.decode()
    page = nurse_client.get(reverse("feeds:letter", args=[other.pk])).content.decode()
    assert "webcal://" in first
    assert "webcal://" not in page


def test_link_revoked_before_printing_is_not_shown(nurse_client, booked_patient):
    nurse_client.post(reverse("feeds:issue", args=[booked_patient.pk]))
    nurse_client.post(reverse("feeds:revoke", args=[booked_patient.pk]))
    page = nurse_client.get(reverse("feeds:letter", args=[booked_patient.pk])).content.decode()
    assert "webcal://" not in page


def test_letter_needs_login_and_a_known_patient(nurse_client, booked_patient):
    url = reverse("feeds:letter", args=[booked_patient.pk])
    assert Client().get(url).status_code == 302
    assert nurse_client.get(reverse("feeds:letter", args=[424242])).status_code == 404
    assert nurse_client.post(url).status_code == 405


# In a real browser -------------------------------------------------------------------------------


def test_qr_code_leads_to_a_page_that_subscribes(client, nurse_client, booked_patient):
    letter = nurse_client.post(reverse("feeds:issue", args=[booked_patient.pk])).content.decode()
    raw = next(
        t
        for t in letter.replace("/", " ").replace(".ics", " ").split()
        if FeedToken.objects.lookup(t)
    )
    subscribe = reverse("feeds:subscribe", kwargs={"token": raw})
    assert qr_svg(settings.SITE_URL + subscribe) in letter

    page = Client().get(subscribe)

    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["X-Robots-Tag"] == "noindex"
    text = page.content.decode()
    feed = settings.SITE_URL + reverse("feeds:patient_feed", kwargs={"token": raw})
    assert 'href="webcal://' in text
    assert "calendar.google.com/calendar/render?cid=webcal" in text
    assert "outlook.live.com/calendar/0/addfromweb?url=" in text
    assert feed in text
    for private in ["Ada", "Lovelace", "H100001", "Neurology"]:
        assert private not in text


def test_subscribe_page_404s_like_the_feed(client, booked_patient, nurse):
    raw = FeedToken.new_secret()
    unknown = client.get(reverse("feeds:subscribe", kwargs={"token": raw}))
    feed_404 = client.get(reverse("feeds:patient_feed", kwargs={"token": raw}))
    staff = issue_staff_feed_link(user=nurse)
    issued = issue_patient_link(booked_patient)
    revoke_feed_link(patient=booked_patient, revoked_by=None)
    for token in (staff, issued):
        response = client.get(reverse("feeds:subscribe", kwargs={"token": token}))
        assert response.status_code == 404
        assert response.content == unknown.content == feed_404.content


def issue_patient_link(patient):
    return issue_feed_link(patient=patient, issued_by=None)


def test_the_qr_code_is_built_from_site_url_not_the_address_the_page_was_asked_on(
    nurse_client, booked_patient, settings
):
    """Issue 20: the letter was printed from a workstation on 127.0.0.1:8000; a patient's phone
    must reach the unit's public address instead."""
    settings.SITE_URL = "https://tofersen.example-trust.nhs.uk"
    settings.ALLOWED_HOSTS = ["*"]
    letter = nurse_client.post(
        reverse("feeds:issue", args=[booked_patient.pk]), HTTP_HOST="127.0.0.1:8000"
    ).content.decode()
    raw = next(
        t
        for t in letter.replace("/", " ").replace(".ics", " ").split()
        if FeedToken.objects.lookup(t)
    )
    subscribe = reverse("feeds:subscribe", kwargs={"token": raw})

    assert qr_svg("https://tofersen.example-trust.nhs.uk" + subscribe) in letter
    assert "127.0.0.1:8000" not in letter


def test_make_run_serves_on_port_and_links_there_too():
    """README: `make run PORT=8080` serves there, and SITE_URL (the QR code) follows."""
    import subprocess

    dry_run = subprocess.run(
        ["make", "-n", "run", "PORT=8080"],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    ).stdout

    assert "export SITE_URL=http://127.0.0.1:8080;" in dry_run
    assert "runserver 127.0.0.1:8080" in dry_run
