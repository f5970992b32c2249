"""The Admin role (schedules 0002_roles) issues and revokes API tokens and reads the API's log:
that role got every permission of the apps that existed then, and this app came later."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN = ["view_apiclient", "add_apiclient", "change_apiclient", "view_apiread"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("fhir")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin = Group.objects.filter(name="Admin").first()
    if admin is not None:
        admin.permissions.add(
            *Permission.objects.filter(content_type__app_label="fhir", codename__in=ADMIN)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin = Group.objects.filter(name="Admin").first()
    if admin is not None:
        admin.permissions.remove(
            *Permission.objects.filter(content_type__app_label="fhir", codename__in=ADMIN)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0001_initial"),
        ("schedules", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
