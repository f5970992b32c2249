from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class SecureAdminConfig(AdminConfig):
    """The Django admin, served by a site that refuses a session without a verified second
    factor wherever one is required (see tofersen_scheduler.admin)."""

    default_site = "tofersen_scheduler.admin.SecureAdminSite"


class SecurityConfig(AppConfig):
    """Sign-in hooks: the session clocks start at sign-in (tofersen_scheduler.security)."""

    name = "tofersen_scheduler"
    verbose_name = "Security"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from tofersen_scheduler.security import forget_own_failures, stamp_sign_in

        user_logged_in.connect(stamp_sign_in, dispatch_uid="security.stamp_sign_in")
        user_logged_in.connect(forget_own_failures, dispatch_uid="security.forget_own_failures")
