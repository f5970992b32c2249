"""Who may read: a bearer token per client, a rate limit per token, and the read log.

No session and no cookie is ever consulted (`IgnoreSessionMiddleware`): a browser signed in to
the scheduler but without a token gets 401 like anyone else, and no cross-site request can
ride on a nurse's session.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache

from schedules.fhir.models import ApiClient, ApiRead

PATH_PREFIX = "/fhir/"


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


def rate_limited(client: ApiClient) -> int:
    """Count this request against the client's minute; the seconds to wait when over
    `FHIR_RATE_LIMIT_PER_MINUTE`, else 0. Counted in the default cache, so per app server."""
    limit = settings.FHIR_RATE_LIMIT_PER_MINUTE
    now = time.time()
    window = int(now // 60)
    key = f"fhir:rate:{client.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr: start the window again
        cache.set(key, 1, timeout=120)
        used = 1
    if used <= limit:
        return 0
    return max(1, math.ceil((window + 1) * 60 - now))


def log_read(
    client, *, interaction, status, resource_type="", resource_id="", query="", returned=0
):
    ApiRead.objects.create(
        client=client,
        interaction=interaction,
        resource_type=resource_type[:40],
        resource_id=resource_id[:64],
        query=query[:500],
        status=status,
        returned=returned,
    )
