"""Nurses, clinicians and admins see the Messages page and the staff banner (issue 18 §8);
admins also read the outbox and the heartbeats in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Nurse": ["view_message"],
    "Clinician": ["view_message"],
    "Admin": ["view_message", "view_workerheartbeat"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("messaging")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="messaging", codename__in=codenames
                )
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="messaging", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("schedules", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
