"""Health probes: `/healthz` is liveness (the process answers; no database), `/readyz` is
readiness (the database answers and every migration is applied) for the proxy to route on."""

import sys

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@require_safe
@never_cache
def healthz(request):
    """Liveness probe: answers without touching the database (the floor in benchmarks)."""
    return _text("ok")


@require_safe
@never_cache
def readyz(request):
    """Readiness probe: 200 when the database answers and has no unapplied migration, else 503
    with a one-word reason (nothing that would help an attacker)."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return _text("database unavailable\n", status=503)
    if pending:
        return _text("migrations pending\n", status=503)
    return _text("ok\n")


DATABASE_DOWN = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>The scheduler is unavailable</title></head>
<body><h1>The scheduler cannot reach its records just now</h1>
<p>Nothing was saved by the action you just took. Please try again in a minute; if it keeps
happening, call the IT service desk.</p></body></html>
"""


def server_error(request):
    """Django's handler500: a database that cannot be reached is a temporary outage (503 with a
    plain page that needs no database, and Retry-After), not a fault of the page (500)."""
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(DATABASE_DOWN, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = "60"
        return response
    return defaults.server_error(request)
