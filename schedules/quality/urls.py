from django.urls import path

from schedules.quality import views

app_name = "quality"
urlpatterns = [
    path("", views.quality, name="page"),
    path("exports/<str:kind>.csv", views.export, name="export"),
]
