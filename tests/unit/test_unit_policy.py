"""The unit's booking policy has clinical bounds (issue 17 §7): a typo in the admin cannot let
nurses book a dose ten days early. The labels give no tolerance window (DESIGN §2): the window
is unit policy, within at most 3 days before due and flagged within 14 days after."""

import pytest
from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.urls import reverse

from schedules.models import Unit

BEFORE, BOUNDS = (
    ("schedules", "0008_booking_cancelled_by_no_show"),
    (
        "schedules",
        "0009_admin_window_unit_policy_bounds",
    ),
)


def _admin_form(admin_user, unit, **changes):
    request = RequestFactory().post("/")
    request.user = admin_user
    form_class = admin.site._registry[Unit].get_form(request, unit, change=True)
    data = {
        name: getattr(unit, name)
        for name in form_class.base_fields
        if not isinstance(getattr(unit, name), bool) or getattr(unit, name)
    }
    return form_class(data | changes, instance=unit)


@pytest.mark.parametrize(("field", "value"), [("book_early_days", 13), ("flag_late_days", 15)])
def test_the_admin_refuses_a_policy_outside_its_clinical_bound(admin_user, unit, field, value):
    form = _admin_form(admin_user, unit, **{field: value})

    assert not form.is_valid()
    assert "less than or equal to" in form.errors[field][0]


def test_the_admin_accepts_the_bounds_themselves(admin_user, unit):
    form = _admin_form(admin_user, unit, book_early_days=3, flag_late_days=14)

    assert form.is_valid(), form.errors


def test_the_admin_explains_the_bounds_and_their_source(client, admin_user, unit):
    client.force_login(admin_user)

    page = client.get(reverse("admin:schedules_unit_change", args=[unit.pk])).content.decode()

    assert "0 to 3. Unit policy (DESIGN §2): the labels give no tolerance window" in page
    assert "0 to 14." in page


@pytest.mark.parametrize(("field", "value"), [("book_early_days", 13), ("flag_late_days", 30)])
def test_the_database_refuses_a_policy_outside_its_bound_whatever_the_door(unit, field, value):
    """A command, a shell or a `QuerySet.update()` skips the validators; the constraint holds."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Unit.objects.filter(pk=unit.pk).update(**{field: value})


# serialized_rollback as the suite's other transactional tests, so the flush after it leaves the
# database as they expect (no content types recreated behind their backs).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_clamps_a_unit_outside_the_bounds_and_says_so(capsys):
    """Clamped, not refused: narrowing the window is the safe direction (more bookings need a
    clinician), and the change is in the unit's history and printed at the upgrade."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old_apps = executor.loader.project_state([BEFORE]).apps
    OldUnit = old_apps.get_model("schedules", "Unit")
    OldUnit.objects.all().delete()
    unit = OldUnit.objects.create(
        name="Day unit", address="Ward 7", phone="020", book_early_days=13, flag_late_days=30
    )
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([BOUNDS])
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )

    clamped = Unit.objects.get(pk=unit.pk)
    assert (clamped.book_early_days, clamped.flag_late_days) == (3, 14)
    assert "clamped to the clinical bounds by migration 0009" in (
        clamped.history.latest().history_change_reason
    )
    assert "booking policy clamped" in capsys.readouterr().out
