"""Who may read: a bearer token per client, a rate limit per token, and the read log.

No session and no cookie is ever consulted (`IgnoreSessionMiddleware`): a browser signed in to
the scheduler but without a token gets 401 like anyone else, and no cross-site request can
ride on a nurse's session.
"""

import math
from datetime import timedelta

from django.conf import settings

from schedules.fhir.models import ApiClient, ApiRead

PATH_PREFIX = "/fhir/"
WINDOW = timedelta(minutes=1)


class IgnoreSessionMiddleware:
    """Drop the session cookie of requests to the API before `SessionMiddleware` reads it, so
    the API never sees a session (and never writes one back). Sits just before it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(PATH_PREFIX):
            request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
            request.COOKIES.pop(settings.CSRF_COOKIE_NAME, None)
        return self.get_response(request)


def client_for(request) -> ApiClient | None:
    """The active client whose token the request carries as `Authorization: Bearer <token>`;
    None for a missing, malformed, unknown or revoked token (the caller cannot tell which)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return ApiClient.objects.lookup(token.strip())


def rate_limited(client: ApiClient, now) -> int:
    """The seconds to wait when the client has made `FHIR_RATE_LIMIT_PER_MINUTE` requests in
    the last minute, else 0. Counted from the read log, so the limit holds across every worker
    and app server (a per-process cache would multiply it by their number)."""
    limit = settings.FHIR_RATE_LIMIT_PER_MINUTE
    recent = ApiRead.objects.filter(client=client, at__gt=now - WINDOW).order_by("at")
    used = recent.count()
    if used < limit:
        return 0
    # A place frees when the (used - limit + 1)th oldest read of the window leaves it.
    freed = recent.values_list("at", flat=True)[used - limit] + WINDOW
    return max(1, math.ceil((freed - now).total_seconds()))


def log_read(
    client, *, at, interaction, status, resource_type="", resource_id="", query="", returned=0
):
    ApiRead.objects.create(
        client=client,
        at=at,
        interaction=interaction,
        resource_type=resource_type[:40],
        resource_id=resource_id[:64],
        query=query[:500],
        status=status,
        returned=returned,
    )
