"""The API's four views: the CapabilityStatement, the OpenAPI document, read and search.

Every answer is `application/fhir+json`. A refusal is an OperationOutcome: 400 for a parameter
the API does not take or a value it cannot read, 401 without a valid token (the same body
whatever was wrong), 404 for an unknown type or id, 405 for anything but GET, 429 over the
rate limit (with Retry-After).
"""

import json
from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from schedules.fhir import access, capability, openapi
from schedules.fhir.params import DEFAULT_COUNT, MAX_COUNT, MAX_OFFSET, SearchError, parse_int
from schedules.fhir.search import PAGING, RESOURCE_TYPES, check_format

CONTENT_TYPE = "application/fhir+json; charset=utf-8"


def fhir_response(body: dict, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type=CONTENT_TYPE, status=status
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def outcome(status: int, code: str, diagnostics: str = "", **headers) -> HttpResponse:
    issue = {"severity": "error", "code": code}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status, **headers)


def _read_only(view):
    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return outcome(405, "not-supported", "This API is read-only.", Allow="GET, HEAD")
        return view(request, *args, **kwargs)

    return wrapper


def token_required(view):
    """Bearer token, then the rate limit; the view returns (response, log fields)."""

    @_read_only
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        client = access.client_for(request)
        if client is None:
            return outcome(401, "login", WWW_Authenticate='Bearer realm="fhir"')
        now = timezone.now()
        wait = access.rate_limited(client, now)
        if wait:
            return outcome(
                429, "throttled", "Too many requests: try again later.", Retry_After=str(wait)
            )
        client.touch(now)
        response, logged = view(request, *args, **kwargs)
        access.log_read(client, at=now, status=response.status_code, **logged)
        return response

    return wrapper


@_read_only
def metadata(request):
    """The CapabilityStatement: open to all, as FHIR clients read it before authenticating."""
    return fhir_response(capability.capability_statement(request))


@_read_only
def openapi_document(request):
    return HttpResponse(
        json.dumps(openapi.document(), indent=1),
        content_type="application/json; charset=utf-8",
    )


@token_required
def read(request, resource_type: str, resource_id: str):
    logged = dict(interaction="read", resource_type=resource_type, resource_id=resource_id)
    kind = RESOURCE_TYPES.get(resource_type)
    if kind is None:
        return _unknown_type(resource_type), logged
    if request.GET:
        unknown = [name for name in request.GET if name != "_format"]
        if unknown:
            return outcome(400, "not-supported", f"Unknown parameter {unknown[0]!r}."), logged
        try:
            for raw in request.GET.getlist("_format"):
                check_format(raw)
        except SearchError as error:
            return outcome(400, "invalid", str(error)), logged
    resource = kind.read(resource_id)
    if resource is None:
        return outcome(404, "not-found", f"{resource_type}/{resource_id} is not known."), logged
    return fhir_response(resource), {**logged, "returned": 1}


@token_required
def search(request, resource_type: str):
    query = request.META.get("QUERY_STRING", "")
    logged = dict(interaction="search", resource_type=resource_type, query=query)
    kind = RESOURCE_TYPES.get(resource_type)
    if kind is None:
        return _unknown_type(resource_type), logged
    try:
        criteria, count, offset = _criteria(request, kind)
        total, found = kind.search(criteria, offset=offset, count=count)
    except SearchError as error:
        return outcome(400, "invalid", str(error)), logged
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": _links(request, resource_type, criteria, count, offset, total),
        "entry": [
            {
                "fullUrl": request.build_absolute_uri(
                    f"{request.path.rstrip('/')}/{resource['id']}"
                ),
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in found
        ],
    }
    if not bundle["entry"]:
        del bundle["entry"]
    return fhir_response(bundle), {**logged, "returned": len(found)}


@_read_only
def not_found(request):
    return outcome(404, "not-found", "No such FHIR endpoint. See /fhir/R4/metadata.")


def _unknown_type(resource_type: str) -> HttpResponse:
    served = ", ".join(RESOURCE_TYPES)
    return outcome(
        404, "not-supported", f"{resource_type!r} is not served here. This API serves {served}."
    )


def _criteria(request, kind):
    """(criteria, count, offset) from the query string; SearchError for anything unknown."""
    criteria = []
    count, offset = DEFAULT_COUNT, 0
    for name, values in request.GET.lists():
        for raw in values:
            if name == "_count":
                count = parse_int("_count", raw, low=0, high=MAX_COUNT)
            elif name == "_offset":
                offset = parse_int("_offset", raw, low=0, high=MAX_OFFSET)
            elif name == "_format":
                check_format(raw)
            elif name in kind.params:
                criteria.append((name, raw))
            else:
                accepted = ", ".join([*kind.params, *PAGING])
                raise SearchError(
                    f"Unknown search parameter {name!r} for {kind.name}. Accepted: {accepted}."
                )
    return criteria, count, offset


def _links(request, resource_type, criteria, count, offset, total) -> list[dict]:
    base = request.build_absolute_uri(request.path)

    def url(at: int) -> str:
        return f"{base}?{urlencode([*criteria, ('_count', count), ('_offset', at)])}"

    links = [{"relation": "self", "url": url(offset)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": url(offset + count)})
    if count and offset > 0:
        links.append({"relation": "previous", "url": url(max(0, offset - count))})
    return links
