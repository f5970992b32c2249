"""Sessions end (issue 9; OWASP ASVS L2 V3.3): 30 minutes idle, 12 hours absolute (both
settings), a warning before the idle limit on pages with forms, and signing out everywhere
when the password changes."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.fixture
def signed_in(client, nurse, unit, clock):
    clock.stop()
    assert (
        client.post("/accounts/login/", {"username": "nurse", "password": PASSWORD}).status_code
        == 302
    )
    assert client.get("/today/").status_code == 200
    return client


def _signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_thirty_idle_minutes_end_the_session(signed_in, clock):
    clock.shift(timedelta(minutes=31))
    assert _signed_out(signed_in.get("/today/"))


def test_activity_keeps_the_session_but_not_beyond_twelve_hours(signed_in, clock):
    for _ in range(int(12 * 60 / 25)):
        clock.shift(timedelta(minutes=25))
        assert signed_in.get("/today/").status_code == 200
    clock.shift(timedelta(minutes=25))
    assert _signed_out(signed_in.get("/today/"))


def test_both_limits_are_settings(signed_in, settings, clock):
    settings.SESSION_IDLE_MINUTES = 5
    clock.shift(timedelta(minutes=6))
    assert _signed_out(signed_in.get("/today/"))


def test_the_absolute_limit_is_a_setting(signed_in, settings, clock):
    settings.SESSION_ABSOLUTE_HOURS = 1
    for _ in range(3):
        clock.shift(timedelta(minutes=25))
        response = signed_in.get("/today/")
    assert _signed_out(response)


def test_pages_with_forms_carry_the_idle_warning(signed_in, patient):
    page = signed_in.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert 'data-session-idle-seconds="1800"' in page
    assert "/static/js/app.js" in page


def test_stay_signed_in_renews_the_idle_clock(signed_in, clock):
    clock.shift(timedelta(minutes=25))
    assert signed_in.post(reverse("session_keepalive")).status_code == 204
    clock.shift(timedelta(minutes=25))
    assert signed_in.get("/today/").status_code == 200


def test_changing_the_password_signs_out_every_other_session(signed_in, nurse):
    elsewhere = Client()
    elsewhere.post("/accounts/login/", {"username": "nurse", "password": PASSWORD})
    assert elsewhere.get("/today/").status_code == 200

    changed = signed_in.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-2026",
            "new_password2": "a-new-long-passphrase-2026",
        },
    )

    assert changed.status_code == 302
    assert signed_in.get("/today/").status_code == 200
    assert _signed_out(elsewhere.get("/today/"))
