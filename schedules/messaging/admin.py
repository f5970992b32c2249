"""The outbox in the admin (issue 18 §8): read, never written here (the services write it)."""

from django.contrib import admin

from schedules.messaging.models import Message, WorkerHeartbeat


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "patient",
        "kind",
        "channel",
        "status",
        "attempts",
        "send_after",
        "sent_at",
        "provider_id",
    ]
    list_filter = ["status", "kind", "channel", "created_at"]
    search_fields = ["patient__hospital_number", "patient__family_name", "provider_id", "=pk"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "booking", "course"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at"]
    search_fields = ["name"]
    list_filter = ["beat_at"]

    def has_add_permission(self, request):
        return False
