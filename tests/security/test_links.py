"""Calendar links and health probes under attack (issue 9; OWASP ASVS L2 V3.5, V7.1, V8.3):
a discreet subscribe page, staff links that die with the account or its password, one 404
for every variant of a token, redacted in every log line, and honest health probes."""

import logging
import re
from unittest import mock
from urllib.parse import quote

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from patients.services import issue_feed_link, issue_staff_feed_link
from tests.factories import make_patient

DISEASE_WORDS = re.compile(r"tofersen|qalsody|sod1|motor neuron|amyotrophic|\bALS\b", re.I)


def _encoded(token: str) -> str:
    return "".join(f"%{ord(ch):02X}" for ch in token)


def test_the_subscribe_page_names_no_drug_or_condition_and_gives_the_unit_phone(client, unit):
    raw = issue_feed_link(patient=make_patient(), issued_by=None)

    page = client.get(reverse("feeds:subscribe", kwargs={"token": raw}))
    missing = client.get(reverse("feeds:subscribe", kwargs={"token": "x" * 43}))

    assert page.status_code == 200
    assert not DISEASE_WORDS.search(page.content.decode())
    assert unit.phone in page.content.decode()
    assert "/static/css/app.css" in page.content.decode()  # the site's look
    assert missing.status_code == 404
    assert not DISEASE_WORDS.search(missing.content.decode())


@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_a_staff_link_stops_when_its_owner_leaves_or_changes_password(client, nurse, change):
    raw = issue_staff_feed_link(user=nurse)
    url = reverse("feeds:staff_feed", kwargs={"token": raw})
    assert client.get(url).status_code == 200

    if change == "deactivate":
        nurse.is_active = False
    else:
        nurse.set_password("a-brand-new-passphrase-2026")
    nurse.save()

    assert client.get(url).status_code == 404


def test_a_newly_issued_staff_link_works_after_a_password_change(client, nurse):
    nurse.set_password("a-brand-new-passphrase-2026")
    nurse.save()
    raw = issue_staff_feed_link(user=nurse)
    assert client.get(reverse("feeds:staff_feed", kwargs={"token": raw})).status_code == 200


@pytest.mark.parametrize("name", ["feeds:patient_feed", "feeds:subscribe"])
def test_percent_encoded_and_other_variants_of_a_token_get_the_same_404(client, unit, name):
    raw = issue_feed_link(patient=make_patient(), issued_by=None)
    url = reverse(name, kwargs={"token": raw})
    unknown = client.get(reverse(name, kwargs={"token": "A" * 43}))
    encoded_path = url.replace(raw, _encoded(raw))

    variants = [
        # What gunicorn or uWSGI hand over for an encoded request line: decoded path, raw URI.
        client.get(url, RAW_URI=encoded_path),
        client.get(url, REQUEST_URI=encoded_path),
        client.get(reverse(name, kwargs={"token": raw + "A"})),
        client.get(reverse(name, kwargs={"token": raw[:-1]})),
    ]

    assert client.get(url, RAW_URI=url).status_code == 200
    for response in variants:
        assert response.status_code == 404
        assert response.content == unknown.content


def test_an_encoded_token_is_redacted_in_every_log_line(client, unit, caplog):
    raw = issue_feed_link(patient=make_patient(), issued_by=None)
    encoded = "/feeds/" + _encoded(raw) + ".ics"
    fully_encoded = "/%66eeds/" + quote(raw) + ".ics"
    caplog.set_level(logging.INFO)

    client.get(reverse("feeds:patient_feed", kwargs={"token": raw}), RAW_URI=encoded)
    for line in [encoded, fully_encoded]:
        logging.getLogger("django.server").info('"GET %s HTTP/1.1" 404 21', line)
        logging.getLogger("django.request").warning("Not Found: %s", line)

    assert "[redacted]" in caplog.text
    assert raw not in caplog.text
    assert _encoded(raw) not in caplog.text
    assert raw[:16] not in caplog.text


def test_issuing_a_link_keeps_the_raw_token_out_of_the_database(nurse_client, patient):
    from patients.models import FeedToken

    nurse_client.post(reverse("feeds:issue", args=[patient.pk]))
    token = FeedToken.objects.get()
    assert len(token.token_hash) == 64


# Health --------------------------------------------------------------------------------------


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_200_when_the_database_answers_and_is_migrated(client, db):
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_down(client, db):
    with mock.patch(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
        side_effect=OperationalError("connection refused"),
    ):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.content == b"database unavailable\n"


def test_a_page_is_a_plain_503_while_the_database_is_down(nurse_client):
    """A nurse's page while the database cannot be reached: "try again", not "something went
    wrong" (500), and the page itself needs no database."""
    nurse_client.raise_request_exception = False
    with mock.patch(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
        side_effect=OperationalError("connection refused"),
    ):
        response = nurse_client.get("/patients/")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "Nothing was saved" in response.content.decode()


def test_readyz_is_503_when_a_migration_is_not_applied(client, db):
    with mock.patch(
        "django.db.migrations.executor.MigrationExecutor.migration_plan",
        return_value=[("a migration", False)],
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.content == b"migrations pending\n"


def test_healthz_stays_200_when_the_database_is_down(client, db):
    with mock.patch(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
        side_effect=OperationalError("connection refused"),
    ):
        assert Client().get("/healthz").status_code == 200
