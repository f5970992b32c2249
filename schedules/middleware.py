"""A clear page, not a 500, when the installation has no day-care unit yet."""

from django.shortcuts import render

from schedules.models import UnitMissing


class UnitMissingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UnitMissing):
            return render(request, "unit_missing.html", {"message": str(exception)}, status=503)
        return None
