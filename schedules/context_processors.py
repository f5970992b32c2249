"""Template context every page may use."""

from schedules.visits.tasks import TaskBadge


def my_tasks(request):
    """The navigation's "My tasks" badge: read only when a page shows it (see TaskBadge)."""
    return {"my_tasks": TaskBadge(request)}
