"""The Messages page (staff) and Notify's delivery-status callback (issue 18 §6, §8)."""

import hmac
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from schedules.messaging import receipts, selectors


@login_required
@permission_required("messaging.view_message", raise_exception=True)
@require_GET
def page(request):
    health = selectors.health()
    age = health.oldest_due_age
    return render(
        request,
        "messaging/page.html",
        {
            "health": health,
            "oldest_minutes": int(age.total_seconds() // 60) if age else None,
            "today": selectors.todays_counts(),
            "fix_list": selectors.fix_contact_list(),
            "failures": selectors.recent_failures(),
        },
    )


def _authorised(request) -> bool:
    """`Authorization: Bearer <NOTIFY_CALLBACK_TOKEN>`, compared in constant time; no token
    configured means no callback is accepted."""
    expected = settings.NOTIFY_CALLBACK_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(expected) and hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), f"Bearer {expected}".encode()
    )


@csrf_exempt
@require_POST
def notify_callback(request):
    """Notify's delivery receipt. Anything but the right token: 401 with no body."""
    if not _authorised(request):
        return HttpResponse(status=401)
    try:
        receipt = json.loads(request.body)
        result = receipts.apply(receipt)
    except (ValueError, TypeError, AttributeError):
        return HttpResponseBadRequest("Expected Notify's JSON delivery receipt.")
    if result is None:
        return HttpResponse(status=404)
    return HttpResponse(status=204)
