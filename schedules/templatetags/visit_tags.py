"""Template tags for the visit pages: the patient's readable clinical history (issue 7 item 7)."""

from django import template

from schedules.models import AdverseEvent, Booking, CourseEvent, Dose, Visit

register = template.Library()

HISTORY_LIMIT = 50
WHAT = {"+": "created", "~": "changed", "-": "deleted"}


def _describe(record) -> str:
    model = record.instance_type
    name = model._meta.verbose_name.capitalize()
    if model is Dose:
        name = f"Dose {record.number}"
    elif model is Booking:
        name = f"Booking ({record.get_status_display().lower()})"
    elif model is CourseEvent:
        name = f"Course {record.get_kind_display().lower()}"
    elif model is AdverseEvent:
        name = f"Adverse event {record.get_term_display().lower()}"
    changes = ""
    if record.history_type == "~" and record.prev_record is not None:
        delta = record.diff_against(
            record.prev_record, excluded_fields=["updated_at", "calendar_sequence"]
        )
        changes = ", ".join(
            f"{change.field.replace('_', ' ')}: {change.old or '—'} → {change.new or '—'}"
            for change in delta.changes
        )
    return f"{name} {WHAT.get(record.history_type, '')}" + (f" ({changes})" if changes else "")


@register.simple_tag
def clinical_history(patient, limit=HISTORY_LIMIT):
    """The latest changes to the patient's clinical records, newest first: who, when, what."""
    courses = list(patient.courses.values_list("pk", flat=True))
    records = []
    for queryset in (
        CourseEvent.history.filter(course_id__in=courses),
        Dose.history.filter(course_id__in=courses),
        Booking.history.filter(dose__course_id__in=courses),
        Visit.history.filter(booking__dose__course_id__in=courses),
        AdverseEvent.history.filter(course_id__in=courses),
    ):
        records += list(queryset.select_related("history_user").order_by("-history_date")[:limit])
    records.sort(key=lambda r: r.history_date, reverse=True)
    return [
        {"when": r.history_date, "who": r.history_user, "what": _describe(r)}
        for r in records[:limit]
    ]
