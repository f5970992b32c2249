"""The nurses' pages (namespace "schedules"), one list of URLs per capability; every URL and
URL name is what it always was."""

from schedules.booking import urls as booking
from schedules.unit import urls as unit
from schedules.visits import urls as visits

app_name = "schedules"
urlpatterns = [*visits.urlpatterns, *booking.urlpatterns, *unit.urlpatterns]
