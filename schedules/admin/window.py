"""The admin is a window on clinical records (issue 17; DESIGN §2 "every door meets the same
rule, written once").

Courses, course events, doses, bookings, visits, adverse events, consents, follow-up calls and
clinicians' requests are read here, with their history, and never added, changed, deleted or
reverted through an admin form: a form would write around the services' locks, refusals,
holds and worklist refresh (an admin could set a held course to Active). What an admin must do
is an admin action that calls the service (cancel a booking with a reason, revoke a feed link).
The unit's settings (Unit, SessionTemplate, Closure, Slot) stay editable.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


def _all_fields(model, declared) -> list[str]:
    editable = [
        field.name for field in model._meta.fields if field.editable and not field.primary_key
    ]
    return list(dict.fromkeys([*declared, *editable]))


class ReadOnlyAdminMixin:
    """No add, change or delete page; every field shown read-only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Also read-only on simple-history's page of a past version, which builds its form
        # from these rather than from the change permission.
        return _all_fields(self.model, super().get_readonly_fields(request, obj))


class ClinicalRecordAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only with history: no add, change or delete page, no "Revert" from the history."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history saves a posted past version (a "Revert") without asking for the
        # change permission: refused here, so history is only read.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ClinicalRecordInline(admin.TabularInline):
    """A clinical record listed on another record's page, read-only (see the module)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
