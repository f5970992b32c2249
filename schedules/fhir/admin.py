"""API clients (issue and revoke tokens) and the log of every read, for admins."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from schedules.fhir.models import ApiClient, ApiRead


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "token_prefix",
        "issued_at",
        "issued_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "issued_at")
    search_fields = ("name", "token_prefix")
    list_select_related = ("issued_by", "revoked_by")
    readonly_fields = (
        "token_prefix",
        "issued_at",
        "issued_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    fields = ("name", *readonly_fields)
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        # A client's reads stay attributable: revoke, never delete.
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else ("name", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        raw = ApiClient.new_secret()
        obj.set_token(raw)
        obj.issued_by = request.user
        super().save_model(request, obj, form, change)
        request._fhir_raw_token = raw

    def response_add(self, request, obj, post_url_continue=None):
        """Show the raw token on the response itself, once: never in a message, a cookie or
        the session."""
        return TemplateResponse(
            request,
            "admin/fhir/apiclient/issued.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "client": obj,
                "token": request._fhir_raw_token,
                "title": f"Token issued to {obj.name}",
            },
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        clients = list(queryset.filter(revoked_at__isnull=True))
        for client in clients:
            client.revoke(by=request.user)
        count = len(clients)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


@admin.register(ApiRead)
class ApiReadAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "client",
        "interaction",
        "resource_type",
        "resource_id",
        "query",
        "status",
        "returned",
    )
    list_filter = ("interaction", "resource_type", "status", "client")
    search_fields = ("client__name", "resource_id", "query")
    list_select_related = ("client",)
    raw_id_fields = ("client",)
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
