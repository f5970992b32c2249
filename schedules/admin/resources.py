"""Admin for the unit's people and places (issue 19 item 1): the lumbar-puncture competency
register, the rota per session and the imaging lists. Beds are set on each session template."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from schedules.models import Competency, ImagingList, RotaEntry


@admin.register(Competency)
class CompetencyAdmin(SimpleHistoryAdmin):
    list_display = ["operator", "procedure", "valid_until", "signed_off_by", "signed_off_on"]
    list_filter = ["procedure", "valid_until"]
    search_fields = [
        "operator__username",
        "operator__first_name",
        "operator__last_name",
        "signed_off_by__username",
    ]
    list_select_related = ["operator", "signed_off_by"]
    raw_id_fields = ["operator", "signed_off_by"]
    date_hierarchy = "valid_until"


@admin.register(RotaEntry)
class RotaEntryAdmin(SimpleHistoryAdmin):
    list_display = ["day", "template", "operator"]
    list_filter = ["template__unit", "template__weekday", "day"]
    search_fields = ["operator__username", "operator__first_name", "operator__last_name"]
    list_select_related = ["template", "operator"]
    raw_id_fields = ["operator"]
    date_hierarchy = "day"


@admin.register(ImagingList)
class ImagingListAdmin(SimpleHistoryAdmin):
    list_display = ["day", "template", "places", "note"]
    list_filter = ["template__unit", "template__weekday", "day"]
    search_fields = ["note"]
    list_select_related = ["template"]
    date_hierarchy = "day"
