"""Security headers on every page (issue 9; OWASP ASVS L2 V14.4, V8.2): a strict
Content-Security-Policy, Permissions-Policy, `Cache-Control: no-store` on every page (they
show patient data), and templates with no inline script, style or event handler for the CSP
to refuse. The test walks every URL pattern of the site."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from patients.services import issue_feed_link

SKIP = {"logout", "password_reset_confirm"}  # POST-only sign-out; needs a mailed token.


def _patterns(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace == "admin":
                continue
            yield from _patterns(pattern, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            params = list(getattr(pattern.pattern, "converters", {}) or {})
            params = params or list(pattern.pattern.regex.groupindex)
            yield namespace + pattern.name, params


def _kwargs(params, w, token):
    values = {
        "pk": w.patient.pk,
        "patient_id": w.patient.pk,
        "course_pk": w.course.pk,
        "course_id": w.course.pk,
        "consent_pk": w.consent.pk,
        "booking_id": w.booking.pk,
        "dose_id": w.booking.dose_id,
        "number": 1,
        "day": "2026-03-02",
        "token": token,
        "kind": "doses",
        "resource_type": "Patient",
        "resource_id": w.patient.pk,
    }
    return {name: values[name] for name in params}


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _check(response, url):
    csp = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, url
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert "frame-ancestors 'none'" in csp, url
    assert "camera=()" in response.get("Permissions-Policy", ""), url
    assert response.get("X-Content-Type-Options") == "nosniff", url
    cache = response.get("Cache-Control", "")
    if response["Content-Type"].startswith(("text/calendar", "text/plain")) and "/feeds/" in url:
        # Calendar apps poll with conditional GETs: private (never a shared cache), not no-store.
        assert "private" in cache, url
    elif response["Content-Type"].startswith("image/"):
        # The favicon holds no patient data: browsers may keep it.
        assert "public" in cache, url
    else:
        assert "no-store" in cache, url
    if response["Content-Type"].startswith("text/html"):
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_STYLE.search(html), url
        assert not INLINE_HANDLER.search(html), url


@pytest.mark.parametrize("role", ["anonymous", "clinician"])
def test_every_url_sends_the_security_headers(client, world, role):  # noqa: F811
    from tests.factories import make_user

    token = issue_feed_link(patient=world.patient, issued_by=None)
    if role != "anonymous":
        client.force_login(make_user(role, role.title()))
    walked = 0
    for name, params in _patterns():
        if name in SKIP:
            continue
        url = reverse(name, kwargs=_kwargs(params, world, token))
        response = client.get(url)
        assert response.status_code < 500, url
        _check(response, url)
        walked += 1
    assert walked > 30


def test_admin_pages_send_the_security_headers(client, admin_user, world):  # noqa: F811
    client.force_login(admin_user)
    for url in [
        reverse("admin:index"),
        reverse("admin:patients_patient_changelist"),
        reverse("admin:patients_patient_change", args=[world.patient.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert "no-store" in response["Cache-Control"]


def test_the_error_pages_have_no_inline_style(client, settings):
    from django.template.loader import render_to_string

    for name in ["500.html", "404.html", "403.html"]:
        html = render_to_string(name)
        assert not INLINE_STYLE.search(html), name
        assert not INLINE_SCRIPT.search(html), name


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/css/app.css")
    assert "no-store" not in response.get("Cache-Control", "")
