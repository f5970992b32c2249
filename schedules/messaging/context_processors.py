"""The staff banner (issue 18 §8): on every staff page when the worker has been silent for
10 minutes or the oldest due reminder has waited over 30 minutes. One query a page."""

from django.utils.functional import SimpleLazyObject

from schedules.messaging import selectors


def messaging_health(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("messaging.view_message"):
        return {}
    return {"messaging_health": SimpleLazyObject(selectors.health)}
