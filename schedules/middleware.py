"""A clear page, not a 500, when the installation has no day-care unit yet; the live board's
cheap refresh."""

import re
from datetime import date

from django.conf import settings
from django.http import HttpResponseNotModified
from django.shortcuts import render

from schedules.models import UnitMissing
from schedules.visits import freshness


class UnitMissingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UnitMissing):
            return render(request, "unit_missing.html", {"message": str(exception)}, status=503)
        return None


# The live board's poll (schedules/visits/views.py `board_poll`): /day/YYYY-MM-DD/board/.
_POLL = re.compile(r"^/day/(\d{4}-\d{2}-\d{2})/board/$")


class BoardPollMiddleware:
    """The live board's refresh, before the session and the user are loaded.

    1. An unchanged board is answered 304 from one query (`freshness.unchanged_for_session`:
       the stamps, the session row and the user's password hash together), so an open board
       costs almost nothing every 15 s.
    2. Every poll is marked passive: it does not renew the session's idle clock
       (SessionLimitsMiddleware), so a board left open on a ward computer still signs out
       after SESSION_IDLE_MINUTES, and its next poll takes the page to the sign-in screen.

    Sits after SessionMiddleware (only for the cookie's name) and before
    SessionLimitsMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = _POLL.match(request.path_info)
        if match is None or request.method != "GET":
            return self.get_response(request)
        request.passive_refresh = True
        if_none_match = request.headers.get("If-None-Match", "")
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            return self.get_response(request)  # the resolver answers 404
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        etag = freshness.unchanged_for_session(day, if_none_match, session_key)
        if etag:
            response = HttpResponseNotModified()
            response["ETag"] = etag
            return response
        return self.get_response(request)
