"""Path converters for the schedules URLs, registered once on import."""

from datetime import date

from django.urls import register_converter


class IsoDateConverter:
    """YYYY-MM-DD in the path; an impossible date (2026-02-30) does not match, so it is a 404."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)  # ValueError means "no match" to the resolver.

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)


register_converter(IsoDateConverter, "isodate")
