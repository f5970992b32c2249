"""The CapabilityStatement (`GET /fhir/R4/metadata`), written from the table of served types."""

from django.conf import settings

from schedules.fhir.search import PAGING, RESOURCE_TYPES

# When this statement last changed in substance (FHIR wants a date, not "now").
PUBLISHED = "2026-12-05"


def capability_statement(request) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": "Tofersen dose scheduler",
        "kind": "instance",
        "software": {"name": "Tofersen dose scheduler"},
        "implementation": {
            "description": "Read-only FHIR R4 API of the day-care unit's tofersen service",
            "url": request.build_absolute_uri("/fhir/R4/"),
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Searches are paged (_count up to 100, the `next` link); an "
                    "unknown parameter is an error (400). OpenAPI: "
                    + request.build_absolute_uri("/fhir/R4/openapi.json")
                ),
                "security": {
                    "cors": False,
                    "description": (
                        "Authorization: Bearer <token>, one token per client system, issued "
                        "by the hospital (python manage.py issue_api_token NAME). "
                        f"At most {settings.FHIR_RATE_LIMIT_PER_MINUTE} requests a minute "
                        "per token (429 with Retry-After over it). Every request is logged."
                    ),
                },
                "resource": [
                    {
                        "type": kind.name,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": name, "type": param.type, "documentation": param.documentation}
                            for name, param in kind.params.items()
                        ],
                    }
                    for kind in RESOURCE_TYPES.values()
                ],
                "searchParam": [
                    {
                        "name": name,
                        "type": "number" if name != "_format" else "token",
                        "documentation": text,
                    }
                    for name, text in PAGING.items()
                ],
            }
        ],
    }
