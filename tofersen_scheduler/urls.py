from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_safe

from patients import urls as patient_urls
from schedules.courses import urls as course_urls
from tofersen_scheduler import health, security, two_factor


@require_safe
def favicon(request):
    """/favicon.ico, which browsers ask for on every page whatever the HTML says."""
    icon = (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()
    response = HttpResponse(icon, content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


two_factor_patterns = (
    [
        path("", two_factor.verify, name="verify"),
        path("enrol/", two_factor.enrol, name="enrol"),
        path("recovery-codes/", two_factor.recovery_codes, name="recovery_codes"),
    ],
    "two_factor",
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/two-factor/", include(two_factor_patterns)),
    path("accounts/session/keepalive", security.keepalive, name="session_keepalive"),
    path("accounts/", include("django.contrib.auth.urls")),
    path(
        "patients/",
        include((patient_urls.urlpatterns + course_urls.patient_patterns, "patients")),
    ),
    path("patients/", include("schedules.courses.urls")),
    path("feeds/", include("schedules.feeds.urls")),
    path("fhir/R4/", include("schedules.fhir.urls")),
    path("quality/", include("schedules.quality.urls")),
    path("", include("schedules.messaging.urls")),
    path("", include("schedules.urls")),
]

# A database that cannot be reached answers 503, not 500 (tofersen_scheduler/health.py).
handler500 = "tofersen_scheduler.health.server_error"
