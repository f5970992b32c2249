from django.contrib import admin

from schedules.quality.models import ExportRecord


@admin.register(ExportRecord)
class ExportRecordAdmin(admin.ModelAdmin):
    """The export audit trail: read-only, nobody adds, edits or deletes a record."""

    list_display = ["exported_at", "kind", "period_start", "period_end", "rows", "exported_by"]
    list_filter = ["kind", "exported_at"]
    search_fields = ["exported_by__username", "exported_by__last_name"]
    list_select_related = ["exported_by"]
    date_hierarchy = "exported_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
