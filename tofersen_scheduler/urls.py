from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """Liveness probe: answers without touching the database (the floor in benchmarks)."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def favicon(request):
    """/favicon.ico, which browsers ask for on every page whatever the HTML says."""
    icon = (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()
    response = HttpResponse(icon, content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


admin.site.site_header = "Tofersen dose scheduler — administration"
admin.site.site_title = "Tofersen scheduler admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("patients/", include("patients.urls")),
    path("feeds/", include("schedules.feed_urls")),
    path("", include("schedules.urls")),
]
