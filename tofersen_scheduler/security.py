"""Cross-cutting security controls: who needs a second factor, the absolute session limit, and
`Cache-Control: no-store` on pages (OWASP ASVS L2 V2.8, V3.3, V8.2)."""

import time

from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

SESSION_STARTED_KEY = "security:signed_in_at"
SESSION_SEEN_KEY = "security:last_seen_at"
SEEN_WRITE_INTERVAL = 60


def two_factor_required(user) -> bool:
    """Whether this user must verify a second factor: staff (the admin site) and the groups in
    settings.TWO_FACTOR_GROUPS, whenever settings.TWO_FACTOR_REQUIRED is on (DEBUG off)."""
    if not settings.TWO_FACTOR_REQUIRED or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name__in=settings.TWO_FACTOR_GROUPS).exists()


def needs_second_factor(request) -> bool:
    """Signed in with a password only, where a verified device is required."""
    user = request.user
    verified = getattr(user, "is_verified", lambda: False)()
    return not verified and two_factor_required(user)


def redirect_to_verify(next_url: str):
    return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': next_url})}")


# Pages a password-only session may still reach: the second-factor pages themselves, signing
# out, and the health probes. (Calendar apps hold no session, so feeds are unaffected.)
_OPEN_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/healthz", "/readyz")


class SecondFactorRequiredMiddleware:
    """Send a password-only session to enrol or verify its second factor before anything else.

    Sits after django_otp's OTPMiddleware, which sets `request.user.is_verified()`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(_OPEN_PREFIXES) and needs_second_factor(request):
            return redirect_to_verify(request.get_full_path())
        return self.get_response(request)


def stamp_sign_in(sender, request, user, **kwargs):
    """On sign-in (connected to `user_logged_in`): start both session clocks, so no page has
    to write the session just to start them."""
    now = int(time.time())
    request.session[SESSION_STARTED_KEY] = now
    request.session[SESSION_SEEN_KEY] = now


def axes_username(request, credentials) -> str:
    """The username django-axes records for a failed sign-in, cut to the longest a username can
    be: axes reads the raw form value and stores it in a 255-character column, so a pasted
    300-character "username" was a server error on PostgreSQL instead of a failed sign-in."""
    name = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(name)[: get_user_model().username.field.max_length]


def forget_own_failures(sender, request, user, **kwargs):
    """On sign-in: forget that person's own wrong passwords, and only theirs. django-axes'
    AXES_RESET_ON_SUCCESS would also clear the address's failures against other usernames, so
    someone with an account could guess others' passwords from one address without limit by
    signing in as themselves between guesses (ASVS V2.2.1)."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username=user.get_username()).delete()


def passive_refresh(request) -> bool:
    """The live board's poll (schedules.middleware.BoardPollMiddleware marks it) is not
    activity: a board left open on a ward computer still signs out after the idle limit."""
    return getattr(request, "passive_refresh", False)


class SessionLimitsMiddleware:
    """End a session after SESSION_IDLE_MINUTES without a request, and SESSION_ABSOLUTE_HOURS
    after sign-in however active (ASVS V3.3.1, V3.3.2).

    The last-seen time is written at most once a minute, which also renews the cookie and the
    stored expiry (SESSION_COOKIE_AGE, the idle limit), so reading a page stays read-only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            started, seen = session.get(SESSION_STARTED_KEY), session.get(SESSION_SEEN_KEY)
            if not isinstance(started, int) or not isinstance(seen, int):
                session[SESSION_STARTED_KEY] = session[SESSION_SEEN_KEY] = started = seen = now
            idle = now - seen > settings.SESSION_IDLE_MINUTES * 60
            if idle or now - started > settings.SESSION_ABSOLUTE_HOURS * 3600:
                logout(request)
                if request.path_info.startswith("/admin/"):
                    return redirect("admin:login")
                if request.headers.get("HX-Request"):
                    # An in-page request (the live board's poll): the whole page goes to the
                    # sign-in screen, not the sign-in form swapped into the board.
                    return _client_redirect(redirect_to_login(_page_url(request)).url)
                return redirect_to_login(request.get_full_path())
            if now - seen >= SEEN_WRITE_INTERVAL and not passive_refresh(request):
                session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


def _page_url(request) -> str:
    """The page an in-page request came from (htmx sends it), to come back to after signing
    in; the request's own path when it is not a path on this site."""
    current = request.headers.get("HX-Current-URL", "")
    host = f"{request.scheme}://{request.get_host()}"
    if current.startswith(host + "/"):
        return current[len(host) :]
    return request.get_full_path()


def _client_redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=200)
    response["HX-Redirect"] = url
    return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that does not set its own (ASVS V8.2.1):
    pages show patient data, and a shared ward computer's back button must not replay them.
    Static files are answered by WhiteNoise before this runs and keep their long caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


def session_settings(request):
    """Template context: the idle limit, for the warning script on pages with forms."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"session_idle_seconds": settings.SESSION_IDLE_MINUTES * 60}


@require_POST
def keepalive(request):
    """ "Stay signed in" from the idle warning: any request renews the idle clock (the
    middleware above); this one just answers 204, or 401 once the session has ended."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    request.session[SESSION_SEEN_KEY] = int(time.time())
    return HttpResponse(status=204)
