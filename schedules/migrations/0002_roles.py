"""Create the staff roles as groups with permissions (issue: roles by data migration).

- Nurse: registers patients, books, reschedules and cancels, marks arrival and no-show, views
  everything else.
- Clinician: a nurse's permissions plus consents, starting/pausing/resuming/stopping courses,
  booking outside the window, and recording administration.
- Admin: every permission of the scheduler's models (and access to the Django admin through
  is_staff, set on the user).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_ALL = [
    ("patients", "view_patient"),
    ("patients", "view_consent"),
    ("schedules", "view_treatmentcourse"),
    ("schedules", "view_courseevent"),
    ("schedules", "view_dose"),
    ("schedules", "view_booking"),
    ("schedules", "view_slot"),
    ("schedules", "view_unit"),
    ("schedules", "view_sessiontemplate"),
    ("schedules", "view_closure"),
]
NURSE = VIEW_ALL + [
    ("patients", "add_patient"),
    ("patients", "change_patient"),
    ("patients", "add_feedtoken"),
    ("patients", "change_feedtoken"),
    ("schedules", "add_booking"),
    ("schedules", "change_booking"),
    ("schedules", "add_dose"),
    ("schedules", "add_slot"),
]
CLINICIAN = NURSE + [
    ("patients", "add_consent"),
    ("patients", "change_consent"),
    ("schedules", "manage_course"),
    ("schedules", "override_booking_window"),
    ("schedules", "record_administration"),
    ("schedules", "change_dose"),
]


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(pairs):
        return [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in pairs
        ]

    Group.objects.get_or_create(name="Nurse")[0].permissions.set(perms(NURSE))
    Group.objects.get_or_create(name="Clinician")[0].permissions.set(perms(CLINICIAN))
    everything = Permission.objects.filter(
        content_type__app_label__in=["patients", "schedules", "auth"]
    )
    Group.objects.get_or_create(name="Admin")[0].permissions.set(everything)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Nurse", "Clinician", "Admin"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("patients", "0001_initial"),
        ("schedules", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
