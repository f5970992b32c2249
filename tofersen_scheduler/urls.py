from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """Liveness probe: answers without touching the database (the floor in benchmarks)."""
    return HttpResponse("ok", content_type="text/plain")


admin.site.site_header = "Tofersen dose scheduler — administration"
admin.site.site_title = "Tofersen scheduler admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("patients/", include("patients.urls")),
    path("feeds/", include("schedules.feeds.urls")),
    path("", include("schedules.urls")),
]
