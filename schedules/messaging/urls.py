from django.urls import path

from schedules.messaging import views

app_name = "messaging"
urlpatterns = [
    path("messages/", views.page, name="page"),
    path("notify/callback/", views.notify_callback, name="notify_callback"),
]
