"""Calendar feeds and their links, mounted at /feeds/.

Feed URLs carry a secret token (43 URL-safe characters from `secrets`); the pattern accepts
only that alphabet and a sane length, so anything else is a plain 404 from the resolver.
"""

from django.urls import path, re_path

from schedules.feeds import views as feed_views

app_name = "feeds"

LINK_PART = r"(?P<token>[A-Za-z0-9_-]{16,128})"

urlpatterns = [
    re_path(rf"^{LINK_PART}\.ics$", feed_views.patient_feed, name="patient_feed"),
    re_path(rf"^{LINK_PART}/$", feed_views.subscribe, name="subscribe"),
    re_path(rf"^staff/{LINK_PART}\.ics$", feed_views.staff_feed, name="staff_feed"),
    path("staff/", feed_views.staff_link, name="staff_link"),
    path("staff/issue", feed_views.staff_issue, name="staff_issue"),
    path("staff/revoke", feed_views.staff_revoke, name="staff_revoke"),
    path("patients/<int:patient_id>/issue", feed_views.issue, name="issue"),
    path("patients/<int:patient_id>/revoke", feed_views.revoke, name="revoke"),
    path("patients/<int:patient_id>/letter", feed_views.letter, name="letter"),
    path("bookings/<int:booking_id>.ics", feed_views.booking_ics, name="booking_ics"),
]
