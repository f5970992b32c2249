"""The admin site, with the second factor enforced (NHS DTAC: multi-factor sign-in, including
for supplier admin access).

The admin's own sign-in page still checks the password (and django-axes still locks it out);
a staff member who has signed in but not verified a device is sent to the second-factor page
and every admin page answers as if they were signed out until they do.
"""

from django.contrib import admin
from django.urls import reverse

from tofersen_scheduler.security import needs_second_factor, redirect_to_verify


class SecureAdminSite(admin.AdminSite):
    site_header = "Tofersen dose scheduler — administration"
    site_title = "Tofersen scheduler admin"

    def has_permission(self, request):
        return super().has_permission(request) and not needs_second_factor(request)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and needs_second_factor(request):
            return redirect_to_verify(request.GET.get("next") or reverse("admin:index"))
        return super().login(request, extra_context)
