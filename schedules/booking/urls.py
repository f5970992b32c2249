from django.urls import path

from schedules import converters  # noqa: F401  (registers "isodate")
from schedules.booking import views, waitlist_views

urlpatterns = [
    path("needs-booking/", views.needs_booking, name="needs_booking"),
    path("overdue/", views.overdue, name="overdue"),
    path("calendar/<isodate:day>/book/", views.book_day, name="book_day"),
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
    path("bookings/<int:booking_id>/day-before/", views.admit_day_before, name="admit_day_before"),
    path("waitlist/", waitlist_views.waitlist, name="waitlist"),
    path("bookings/<int:booking_id>/waitlist/", waitlist_views.waitlist_set, name="waitlist_set"),
    path(
        "bookings/<int:booking_id>/waitlist/clear/",
        waitlist_views.waitlist_clear,
        name="waitlist_clear",
    ),
    path(
        "bookings/<int:booking_id>/move-earlier/", waitlist_views.move_earlier, name="move_earlier"
    ),
    path("bookings/<int:booking_id>/operator/", views.assign_operator, name="assign_operator"),
]
