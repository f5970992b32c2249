from django.urls import path

from patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/consents/new/", views.consent_add, name="consent_add"),
    path(
        "<int:pk>/consents/<int:consent_pk>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path("<int:pk>/course/start/", views.course_start, name="course_start"),
    path(
        "<int:pk>/course/<int:course_pk>/pause/",
        views.course_change,
        {"kind": "pause"},
        name="course_pause",
    ),
    path("<int:pk>/course/<int:course_pk>/resume/", views.course_resume, name="course_resume"),
    path(
        "<int:pk>/course/<int:course_pk>/stop/",
        views.course_change,
        {"kind": "stop"},
        name="course_stop",
    ),
    path(
        "<int:pk>/course/<int:course_pk>/doses/<int:number>/given/",
        views.dose_record,
        name="dose_record",
    ),
]
