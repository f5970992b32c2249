from django.urls import path

from schedules.unit import views

urlpatterns = [
    path("calendar/", views.month, name="calendar"),
    path("calendar/week/", views.week, name="week"),
    path("capacity/", views.capacity, name="capacity"),
    path("slots/generate/", views.generate, name="generate_slots"),
]
