from datetime import date

from django.urls import path, register_converter

from schedules import views, visit_views


class IsoDateConverter:
    """YYYY-MM-DD in the path; an impossible date (2026-02-30) does not match, so it is a 404."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)  # ValueError means "no match" to the resolver.

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)


register_converter(IsoDateConverter, "isodate")

app_name = "schedules"
urlpatterns = [
    path("", views.home, name="home"),
    path("today/", views.today, name="today"),
    path("day/<isodate:day>/", views.day, name="day"),
    path("needs-booking/", views.needs_booking, name="needs_booking"),
    path("overdue/", views.overdue, name="overdue"),
    path("calendar/", views.month, name="calendar"),
    path("calendar/week/", views.week, name="week"),
    path("capacity/", views.capacity, name="capacity"),
    path("calendar/<isodate:day>/book/", views.book_day, name="book_day"),
    path("slots/generate/", views.generate, name="generate_slots"),
    path("courses/<int:course_id>/doses/<int:number>/book/", views.book, name="book"),
    path("courses/<int:course_id>/book-next/", views.book_next, name="book_next"),
    path(
        "courses/<int:course_id>/doses/<int:number>/ask-clinician/",
        views.ask_clinician,
        name="ask_clinician",
    ),
    path("bookings/<int:booking_id>/", views.booking_detail, name="booking"),
    path("bookings/<int:booking_id>/reschedule/", views.reschedule, name="reschedule"),
    path("bookings/<int:booking_id>/cancel/", views.cancel, name="cancel"),
    path("bookings/<int:booking_id>/arrived/", views.arrived, name="arrived"),
    path("bookings/<int:booking_id>/did-not-attend/", views.noshow, name="noshow"),
    path("bookings/<int:booking_id>/undo-arrived/", views.undo_arrived, name="undo_arrived"),
    path("bookings/<int:booking_id>/undo-did-not-attend/", views.undo_noshow, name="undo_noshow"),
    # The visit (issue 7): small POST endpoints that redirect back to `next`.
    path("visits/<int:booking_id>/checks/", visit_views.checks, name="visit_checks"),
    path("visits/<int:booking_id>/clear/", visit_views.clear, name="visit_clear"),
    path("visits/<int:booking_id>/give/", visit_views.give, name="visit_give"),
    path("visits/<int:booking_id>/not-given/", visit_views.not_given, name="visit_not_given"),
    path("visits/<int:booking_id>/observe/", visit_views.observe, name="visit_observe"),
    path("visits/<int:booking_id>/discharge/", visit_views.discharge, name="visit_discharge"),
    path(
        "courses/<int:course_id>/adverse-events/new/",
        visit_views.adverse_event,
        name="adverse_event",
    ),
    path("courses/<int:course_id>/review/", visit_views.review, name="review"),
    path("follow-up/", visit_views.follow_up, name="follow_up"),
    path("follow-up/<int:dose_id>/", visit_views.follow_up_call, name="follow_up_call"),
]
