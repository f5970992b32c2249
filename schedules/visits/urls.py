from django.urls import path

from schedules import converters  # noqa: F401  (registers "isodate")
from schedules.visits import event_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("today/", views.today, name="today"),
    path("day/<isodate:day>/", views.day, name="day"),
    # The live board's poll: schedules.middleware.BoardPollMiddleware matches this path.
    path("day/<isodate:day>/board/", views.board_poll, name="board_poll"),
    path("tasks/", views.my_tasks, name="tasks"),
    path("bookings/<int:booking_id>/arrived/", views.arrived, name="arrived"),
    path("bookings/<int:booking_id>/did-not-attend/", views.noshow, name="noshow"),
    path("bookings/<int:booking_id>/undo-arrived/", views.undo_arrived, name="undo_arrived"),
    path("bookings/<int:booking_id>/undo-did-not-attend/", views.undo_noshow, name="undo_noshow"),
    # The visit (issue 7): small POST endpoints that redirect back to `next`.
    path("visits/<int:booking_id>/checks/", views.checks, name="visit_checks"),
    path("visits/<int:booking_id>/clear/", views.clear, name="visit_clear"),
    path("visits/<int:booking_id>/give/", views.give, name="visit_give"),
    path("visits/<int:booking_id>/not-given/", views.not_given, name="visit_not_given"),
    path("visits/<int:booking_id>/observe/", views.observe, name="visit_observe"),
    path("visits/<int:booking_id>/discharge/", views.discharge, name="visit_discharge"),
    path(
        "courses/<int:course_id>/adverse-events/new/",
        event_views.adverse_event,
        name="adverse_event",
    ),
    path("courses/<int:course_id>/review/", event_views.review, name="review"),
    path("follow-up/", event_views.follow_up, name="follow_up"),
    path("follow-up/<int:dose_id>/", event_views.follow_up_call, name="follow_up_call"),
]
