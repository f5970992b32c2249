"""The API described as OpenAPI 3.0 (`GET /fhir/R4/openapi.json`), written from the same
table as the CapabilityStatement. `tests/fhir/test_fuzz.py` has schemathesis fuzz it."""

from schedules.fhir.params import MAX_COUNT, MAX_OFFSET
from schedules.fhir.search import RESOURCE_TYPES

FHIR_JSON = "application/fhir+json"
# One value of each search parameter type, for readers and for schemathesis's examples phase.
EXAMPLES = {
    "date": "ge2026-01-01",
    "reference": "1",
    "token": "1",
}


def _resource_schema(resource_type: str) -> dict:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": [resource_type]}},
    }


def _json(schema_ref: str, description: str, **headers) -> dict:
    response = {
        "description": description,
        "content": {FHIR_JSON: {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }
    if headers:
        response["headers"] = {
            name: {"schema": {"type": "string"}, "description": text}
            for name, text in headers.items()
        }
    return response


REFUSALS = {
    "401": _json("OperationOutcome", "No valid bearer token.", **{"WWW-Authenticate": "Bearer"}),
    "429": _json("OperationOutcome", "Over the rate limit.", **{"Retry-After": "Seconds to wait."}),
}


def _search_parameters(kind) -> list[dict]:
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": param.documentation,
            "schema": {"type": "string"},
            "example": param.example or EXAMPLES[param.type],
        }
        for name, param in kind.params.items()
    ]
    parameters += [
        {
            "name": "_count",
            "in": "query",
            "required": False,
            "description": "Resources per page (default 20).",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
        },
        {
            "name": "_offset",
            "in": "query",
            "required": False,
            "description": "Resources to skip (set by the `next` link).",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        },
    ]
    return parameters


def document() -> dict:
    paths = {
        "/fhir/R4/metadata": {
            "get": {
                "operationId": "capabilities",
                "summary": "The CapabilityStatement (no token needed).",
                "security": [],
                "responses": {"200": _json("CapabilityStatement", "What this server supports.")},
            }
        }
    }
    for kind in RESOURCE_TYPES.values():
        paths[f"/fhir/R4/{kind.name}"] = {
            "get": {
                "operationId": f"search{kind.name}",
                "summary": f"Search {kind.name} resources; a searchset Bundle, paged.",
                "parameters": _search_parameters(kind),
                "responses": {
                    "200": _json("Bundle", "A searchset Bundle."),
                    "400": _json("OperationOutcome", "An unknown parameter or unreadable value."),
                    **REFUSALS,
                },
            }
        }
        paths[f"/fhir/R4/{kind.name}/{{id}}"] = {
            "get": {
                "operationId": f"read{kind.name}",
                "summary": f"Read one {kind.name} by id.",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"},
                        "example": "1" if kind.id_pattern.startswith("[0-9]") else "dose-1",
                    }
                ],
                "responses": {
                    "200": _json(kind.name, f"The {kind.name}."),
                    "400": _json("OperationOutcome", "An unknown parameter."),
                    "404": _json("OperationOutcome", "No such resource."),
                    **REFUSALS,
                },
            }
        }
    schemas = {
        name: _resource_schema(name)
        for name in ["CapabilityStatement", "Bundle", "OperationOutcome", *RESOURCE_TYPES]
    }
    schemas["Bundle"]["required"] = ["resourceType", "type"]
    schemas["Bundle"]["properties"].update(
        type={"type": "string", "enum": ["searchset"]},
        total={"type": "integer", "minimum": 0},
        link={"type": "array", "items": {"type": "object"}},
        entry={"type": "array", "items": {"type": "object"}},
    )
    schemas["OperationOutcome"]["required"] = ["resourceType", "issue"]
    schemas["OperationOutcome"]["properties"]["issue"] = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "object", "required": ["severity", "code"]},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Tofersen dose scheduler: FHIR R4 API",
            "version": "1.0.0",
            "description": "Read-only HL7 FHIR R4 resources of the day-care unit's tofersen "
            "service. Authorization: Bearer <token> (python manage.py issue_api_token NAME).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
