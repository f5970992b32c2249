from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "schedules.fhir"
    label = "fhir"
    verbose_name = "FHIR API"
    default_auto_field = "django.db.models.BigAutoField"
