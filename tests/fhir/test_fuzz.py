"""schemathesis fuzzes the API from its own OpenAPI document (`/fhir/R4/openapi.json`), with a
valid token, against the small unit's record: whatever it sends, no answer is a server error,
and every answer is one the document declares, in the declared media type and shape."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_wsgi("/fhir/R4/openapi.json", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def unlimited(settings):
    settings.FHIR_RATE_LIMIT_PER_MINUTE = 100_000


@pytest.fixture
def keep_connection():
    """The WSGI handler closes the database connection after each request; the test's
    transaction lives on it. Django's own test client detaches the same receiver."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case, record, api_token, unlimited, keep_connection):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, checks=CHECKS)
