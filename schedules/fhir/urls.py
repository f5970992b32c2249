from django.urls import path, re_path

from schedules.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("openapi.json", views.openapi_document, name="openapi"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.read, name="read"),
    # Anything else under /fhir/R4/ (a trailing slash, a deeper path): a FHIR 404, not a page.
    re_path(r"", views.not_found),
]
