"""The course pages, under /patients/<pk>/course/ beside the patient's record (namespace
"courses")."""

from django.urls import path

from schedules.courses import views as course_views

app_name = "courses"
urlpatterns = [
    path("<int:pk>/course/start/", course_views.course_start, name="start"),
    path(
        "<int:pk>/course/<int:course_pk>/pause/",
        course_views.course_change,
        {"kind": "pause"},
        name="pause",
    ),
    path("<int:pk>/course/<int:course_pk>/resume/", course_views.course_resume, name="resume"),
    path(
        "<int:pk>/course/<int:course_pk>/stop/",
        course_views.course_change,
        {"kind": "stop"},
        name="stop",
    ),
    path(
        "<int:pk>/course/<int:course_pk>/start-date/",
        course_views.correct_start,
        name="correct_start",
    ),
    path(
        "<int:pk>/course/<int:course_pk>/doses/<int:number>/given/",
        course_views.dose_record,
        name="dose_record",
    ),
]

# Patient-record pages that go through a course service, named in the "patients" namespace
# where they have always been (composed in tofersen_scheduler/urls.py): patients.views reads
# schedules.planning only.
patient_patterns = [
    path(
        "<int:pk>/consents/<int:consent_pk>/withdraw/",
        course_views.consent_withdraw,
        name="consent_withdraw",
    ),
]
