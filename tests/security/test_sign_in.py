"""Sign-in that resists attack (issue 9; OWASP ASVS L2 V2): django-axes lockout on both
sign-in pages, the TOTP second factor with recovery codes, and the admin refusing a session
without a verified device."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin import site as admin_site
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, make_user

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


def _sign_in(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def _code(device: TOTPDevice, at=None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at.timestamp()
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def enforce_two_factor(settings):
    settings.TWO_FACTOR_REQUIRED = True
    return settings


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_five_wrong_passwords_lock_the_username_and_say_when_to_try_again(
    client, admin_user, url, clock
):
    clock.stop()
    for _ in range(4):
        assert _sign_in(client, url, "admin", "wrong-password").status_code == 200
    assert _sign_in(client, url, "admin", "wrong-password").status_code == 429  # the fifth

    locked = _sign_in(client, url, "admin", PASSWORD)

    assert locked.status_code == 429
    until = (timezone.localtime() + timedelta(minutes=15)).strftime("%H:%M")
    assert f"Try again after {until}" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Locked on the other sign-in page too: the lockout is the username's, not the page's.
    other = next(page for page in LOGIN_PAGES if page != url)
    assert _sign_in(client, other, "admin", PASSWORD).status_code == 429


def test_the_lockout_is_per_address_as_well(client, nurse, clinician):
    for name in ["someone", "someone-else", "a-third", "a-fourth", "a-fifth"]:
        _sign_in(client, "/accounts/login/", name, "guess", REMOTE_ADDR="203.0.113.9")

    from_that_address = _sign_in(
        client, "/accounts/login/", "nurse", PASSWORD, REMOTE_ADDR="203.0.113.9"
    )
    from_elsewhere = _sign_in(
        client, "/accounts/login/", "clinician", PASSWORD, REMOTE_ADDR="198.51.100.7"
    )

    assert from_that_address.status_code == 429
    assert from_elsewhere.status_code == 302


def test_an_account_holders_own_sign_ins_do_not_reset_the_address_count(client, nurse, clinician):
    """One person with an account cannot try passwords against others from one address by
    signing in as themselves between guesses: the address counts every failure."""
    address = {"REMOTE_ADDR": "203.0.113.9"}
    for name in ["clinician", "someone", "a-third", "a-fourth"]:
        _sign_in(client, "/accounts/login/", name, "guess", **address)
        assert _sign_in(client, "/accounts/login/", "nurse", PASSWORD, **address).status_code == 302
        client.logout()
    _sign_in(client, "/accounts/login/", "a-fifth", "guess", **address)

    assert _sign_in(client, "/accounts/login/", "clinician", PASSWORD, **address).status_code == 429


def test_the_lockout_ends_after_fifteen_minutes(client, nurse, clock):
    clock.stop()
    for _ in range(5):
        _sign_in(client, "/accounts/login/", "nurse", "wrong")
    assert _sign_in(client, "/accounts/login/", "nurse", PASSWORD).status_code == 429

    clock.shift(timedelta(minutes=15, seconds=5))

    assert _sign_in(client, "/accounts/login/", "nurse", PASSWORD).status_code == 302


def test_four_failures_then_the_right_password_signs_in(client, nurse):
    for _ in range(4):
        _sign_in(client, "/accounts/login/", "nurse", "wrong")
    assert _sign_in(client, "/accounts/login/", "nurse", PASSWORD).status_code == 302


@pytest.mark.parametrize("username", ["x" * 300, "é" * 200])
def test_a_pasted_overlong_username_is_a_failed_sign_in_not_an_error(client, db, username):
    """Axes records the raw username in a 255-character column: on PostgreSQL an over-long
    one was a 500 (found by the hostile-input test). It is now an ordinary refusal."""
    response = _sign_in(client, "/accounts/login/", username, "guess")
    assert response.status_code == 200
    assert "username" in response.content.decode().lower()


def test_a_sign_in_clears_that_persons_own_mistakes(client, nurse):
    """Four typos, a sign-in, then one more typo later does not lock the nurse out."""
    for _ in range(4):
        _sign_in(client, "/accounts/login/", "nurse", "wrong")
    assert _sign_in(client, "/accounts/login/", "nurse", PASSWORD).status_code == 302
    client.logout()
    _sign_in(client, "/accounts/login/", "nurse", "wrong")
    assert _sign_in(client, "/accounts/login/", "nurse", PASSWORD).status_code == 302


# The second factor -----------------------------------------------------------------------------


def _enrol(client, user, clock):
    """Sign in with the password, scan (read the device), confirm a code: the recovery codes."""
    page = client.get(reverse("two_factor:enrol"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(reverse("two_factor:enrol"), {"token": _code(device), "next": "/today/"})
    assert done.status_code == 200
    return re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())


@pytest.mark.parametrize("role", ["nurse", "clinician", "admin"])
def test_each_role_reaches_what_it_should_with_and_without_a_second_factor(
    client, enforce_two_factor, role, unit, clock
):
    clock.stop()
    extra = {"is_staff": True, "is_superuser": True} if role == "admin" else {}
    user = make_user(role, role.title(), **extra)
    assert _sign_in(client, "/accounts/login/", role, PASSWORD).status_code == 302

    # Password only: a nurse works as before; a clinician or an admin is sent to enrol first.
    today, admin = client.get("/today/"), client.get("/admin/")
    if role == "nurse":
        assert today.status_code == 200
    else:
        assert today.status_code == 302
        assert today["Location"].startswith(reverse("two_factor:verify"))
        assert client.get(today["Location"])["Location"].startswith(reverse("two_factor:enrol"))
        assert admin.status_code == 302
        assert not admin["Location"].startswith("/admin/")

    codes = _enrol(client, user, clock)
    assert len(codes) == 10

    assert client.get("/today/").status_code == 200
    assert client.get("/admin/").status_code == (200 if role == "admin" else 302)


def test_a_second_sign_in_asks_for_the_code_and_accepts_a_recovery_code_once(
    client, enforce_two_factor, clinician, unit, clock
):
    clock.stop()
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    codes = _enrol(client, clinician, clock)
    client.post(reverse("logout"))

    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    assert client.get("/today/")["Location"].startswith(reverse("two_factor:verify"))
    wrong = client.post(reverse("two_factor:verify"), {"token": "000000"})
    assert "not recognised" in wrong.content.decode()
    assert client.get("/today/").status_code == 302

    assert client.post(reverse("two_factor:verify"), {"token": codes[0]}).status_code == 302
    assert client.get("/today/").status_code == 200

    client.post(reverse("logout"))
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    again = client.post(reverse("two_factor:verify"), {"token": codes[0]})
    assert "not recognised" in again.content.decode()
    clock.shift(timedelta(seconds=60))
    device = TOTPDevice.objects.get(user=clinician, confirmed=True)
    assert client.post(reverse("two_factor:verify"), {"token": _code(device)}).status_code == 302
    assert client.get("/today/").status_code == 200


def test_wrong_codes_are_throttled(client, enforce_two_factor, clinician, unit, clock):
    clock.stop()
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    _enrol(client, clinician, clock)
    client.post(reverse("logout"))
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    client.post(reverse("two_factor:verify"), {"token": "000000"})
    clock.shift(timedelta(seconds=31))
    device = TOTPDevice.objects.get(user=clinician, confirmed=True)

    refused = client.post(reverse("two_factor:verify"), {"token": "000001"})
    refused = client.post(reverse("two_factor:verify"), {"token": _code(device)})

    assert "Too many wrong codes" in refused.content.decode()


def test_nurses_need_the_second_factor_when_the_setting_says_so(
    client, enforce_two_factor, nurse, unit
):
    enforce_two_factor.TWO_FACTOR_GROUPS = ["Admin", "Clinician", "Nurse"]
    _sign_in(client, "/accounts/login/", "nurse", PASSWORD)
    assert client.get("/today/").status_code == 302


def test_no_second_factor_is_asked_when_the_setting_is_off(client, settings, clinician, unit):
    settings.TWO_FACTOR_REQUIRED = False
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    assert client.get("/today/").status_code == 200


def test_the_admin_site_refuses_a_session_without_a_verified_device(enforce_two_factor, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    admin_user.is_verified = lambda: False
    assert not admin_site.has_permission(request)
    admin_user.is_verified = lambda: True
    assert admin_site.has_permission(request)


def test_an_enrolled_user_cannot_replace_the_app_without_the_current_code(
    client, enforce_two_factor, clinician, unit, clock
):
    clock.stop()
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)
    _enrol(client, clinician, clock)
    client.post(reverse("logout"))
    _sign_in(client, "/accounts/login/", "clinician", PASSWORD)

    response = client.get(reverse("two_factor:enrol"))

    assert response["Location"].startswith(reverse("two_factor:verify"))
    assert StaticDevice.objects.filter(user=clinician).count() == 1


def test_production_hashes_passwords_with_a_strong_hasher():
    """The suite swaps in MD5 for speed (tests/conftest.py); the settings themselves must keep
    Django's default, PBKDF2 with its full iteration count, so the swap never ships."""
    from django.conf import global_settings

    from tofersen_scheduler import settings as production

    hashers = getattr(production, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    assert hashers[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert not any("MD5" in hasher for hasher in hashers)
