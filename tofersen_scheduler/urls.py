from django.contrib import admin
from django.urls import include, path

from tofersen_scheduler import health, security, two_factor

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
    path("admin/", admin.site.urls),
    path("accounts/two-factor/", include(two_factor_patterns)),
    path("accounts/session/keepalive", security.keepalive, name="session_keepalive"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("patients/", include("patients.urls")),
    path("feeds/", include("schedules.feeds.urls")),
    path("", include("schedules.urls")),
]
