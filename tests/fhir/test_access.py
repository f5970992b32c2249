"""Who can read the FHIR API: a client with a valid token, never a session, never more than
the rate limit; every read is logged, and tokens are issued once and revoked for good."""

import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from schedules.fhir.models import ApiClient, ApiRead
from tofersen_scheduler.security import SESSION_SEEN_KEY


def test_command_prints_a_token_once_and_keeps_only_its_hash(db, client):
    out = StringIO()
    call_command("issue_api_token", "Trust EPR", stdout=out)
    token = out.getvalue().strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    stored = ApiClient.objects.get()
    assert stored.name == "Trust EPR"
    assert token not in {stored.token_hash, stored.token_prefix}
    assert stored.token_hash == ApiClient.hash(token)
    response = client.get("/fhir/R4/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_command_refuses_an_empty_name(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("issue_api_token", "  ", stdout=StringIO())


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer wrong-token", "Basic dXNlcjpwYXNz", "bearer", "Token abc"],
)
def test_missing_or_wrong_token_is_401_without_detail(client, api_token, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/fhir/R4/Patient", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="fhir"'
    assert response.json() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login"}],
    }


def test_revoked_token_gets_the_same_401(client, api_token):
    reference = client.get("/fhir/R4/Patient/1", headers={"Authorization": "Bearer nope"})
    ApiClient.objects.get().revoke()
    response = client.get("/fhir/R4/Patient/1", headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 401
    assert response.content == reference.content


def test_a_signed_in_session_without_a_token_is_401(clinician_client, admin_user, record):
    response = clinician_client.get(f"/fhir/R4/Patient/{record.ada.pk}")
    assert response.status_code == 401
    clinician_client.force_login(admin_user)
    assert clinician_client.get("/fhir/R4/Appointment").status_code == 401


def test_a_staff_session_is_not_sent_to_its_second_factor_either(client, admin_user, settings):
    """With the second factor required, a password-only staff session is redirected to verify
    on every page; the API does not see the session at all, so it is a plain 401."""
    settings.TWO_FACTOR_REQUIRED = True
    client.force_login(admin_user)
    assert client.get("/patients/").status_code == 302
    assert client.get("/fhir/R4/Patient").status_code == 401


def test_the_api_never_sets_or_renews_a_session_cookie(clinician_client, api_token):
    # A session last seen two minutes ago is renewed (cookie re-sent) by any page it reaches.
    session = clinician_client.session
    session[SESSION_SEEN_KEY] -= 120
    session.save()
    assert clinician_client.get("/patients/").cookies
    session = clinician_client.session
    session[SESSION_SEEN_KEY] -= 120
    session.save()
    response = clinician_client.get(
        "/fhir/R4/Patient", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 200
    assert not response.cookies


def test_writes_are_refused(client, api_token, record):
    headers = {"Authorization": f"Bearer {api_token}"}
    for method in (client.post, client.put, client.delete, client.patch):
        response = method(f"/fhir/R4/Patient/{record.ada.pk}", headers=headers)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
    assert client.post("/fhir/R4/Patient", headers=headers).status_code == 405


def test_every_read_is_logged_with_client_and_what_was_asked(fhir_get, record):
    fhir_get(f"/fhir/R4/Patient/{record.ada.pk}")
    fhir_get(f"/fhir/R4/Appointment?patient={record.ada.pk}&_count=2")
    fhir_get("/fhir/R4/Patient/999999")
    fhir_get("/fhir/R4/Patient", token="wrong")
    reads = list(ApiRead.objects.order_by("pk").select_related("client"))
    assert [
        (r.interaction, r.resource_type, r.resource_id, r.status, r.returned) for r in reads
    ] == [
        ("read", "Patient", str(record.ada.pk), 200, 1),
        ("search", "Appointment", "", 200, 2),
        ("read", "Patient", "999999", 404, 0),
    ]
    assert reads[1].query == f"patient={record.ada.pk}&_count=2"
    assert {r.client.name for r in reads} == {"Trust EPR"}
    assert ApiClient.objects.get().last_used_at is not None


def test_rate_limit_per_token_answers_429_with_retry_after(fhir_get, settings, db):
    settings.FHIR_RATE_LIMIT_PER_MINUTE = 3
    start = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        statuses = [fhir_get("/fhir/R4/Schedule").status_code for _ in range(3)]
        clock.shift(timedelta(seconds=20))
        limited = fhir_get("/fhir/R4/Schedule")
        assert statuses + [limited.status_code] == [200, 200, 200, 429]
        # The first read leaves the minute's window 40 seconds later.
        assert limited["Retry-After"] == "40"
        assert limited.json()["issue"][0]["code"] == "throttled"
        # Another client's token has its own allowance.
        _, other = ApiClient.issue(name="Regional registry")
        assert fhir_get("/fhir/R4/Schedule", token=other).status_code == 200
        clock.shift(timedelta(seconds=41))
        assert fhir_get("/fhir/R4/Schedule").status_code == 200


def test_the_limit_holds_across_app_servers(fhir_get, settings, db):
    """Counted from the read log, not a per-process cache: reads another worker served count."""
    settings.FHIR_RATE_LIMIT_PER_MINUTE = 2
    client = ApiClient.objects.get()
    for _ in range(2):
        ApiRead.objects.create(client=client, interaction="search", status=200)
    assert fhir_get("/fhir/R4/Schedule").status_code == 429


def test_metadata_and_openapi_need_no_token(client, db):
    assert client.get("/fhir/R4/metadata").status_code == 200
    document = client.get("/fhir/R4/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/fhir/R4/Patient/{id}" in document["paths"]


def test_admin_issues_a_token_once_and_revokes_it(client, admin_user, db):
    client.force_login(admin_user)
    response = client.post("/admin/fhir/apiclient/add/", {"name": "Trust EPR"})
    assert response.status_code == 200
    token = re.search(r'<code id="api-token">([^<]+)</code>', response.content.decode())[1]
    stored = ApiClient.objects.get()
    assert stored.issued_by == admin_user
    assert stored.token_hash == ApiClient.hash(token)
    listing = client.get("/admin/fhir/apiclient/").content.decode()
    assert "Trust EPR" in listing and token not in listing

    client.post(
        "/admin/fhir/apiclient/",
        {"action": "revoke", "_selected_action": [stored.pk]},
    )
    stored.refresh_from_db()
    assert stored.revoked_at is not None
    client.logout()
    assert (
        client.get("/fhir/R4/Patient", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_the_admin_role_manages_api_clients(client, db):
    from tests.factories import make_user

    client.force_login(make_user("boss", "Admin", is_staff=True))
    assert client.get("/admin/fhir/apiclient/").status_code == 200
    assert client.get("/admin/fhir/apiclient/add/").status_code == 200
    assert client.get("/admin/fhir/apiread/").status_code == 200


def test_admin_shows_the_read_log(client, admin_user, fhir_get, record):
    fhir_get(f"/fhir/R4/Patient/{record.ada.pk}")
    client.force_login(admin_user)
    page = client.get("/admin/fhir/apiread/")
    assert page.status_code == 200
    assert "Trust EPR" in page.content.decode()
