"""Give the roles the visit's permissions (issue 7): nurses and clinicians record visits,
adverse events and follow-up calls; the admin group gets every permission again."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

BOTH = [
    ("schedules", "view_visit"),
    ("schedules", "add_visit"),
    ("schedules", "change_visit"),
    ("schedules", "view_adverseevent"),
    ("schedules", "add_adverseevent"),
    ("schedules", "view_followupcall"),
    ("schedules", "add_followupcall"),
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in BOTH
    ]
    for name in ("Nurse", "Clinician"):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*perms)
    admin, _ = Group.objects.get_or_create(name="Admin")
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["patients", "schedules", "auth"])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("schedules", "0003_visit_adverse_events_holds"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
