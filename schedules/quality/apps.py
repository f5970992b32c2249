from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Its own app label, so its one table (the export audit trail) has its own migrations and
    never collides with schedules' migration history."""

    name = "schedules.quality"
    label = "quality"
    verbose_name = "Quality and exports"
    default_auto_field = "django.db.models.BigAutoField"
