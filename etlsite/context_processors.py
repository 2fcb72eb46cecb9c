"""Template context for every page: the worker's status for the header (etlsite.workers)."""

from django.utils.functional import SimpleLazyObject


def worker_status(request):
    """Read only when a template uses it, and only for people who are logged in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from etlsite.workers import worker_status as read

    return {"worker_status": SimpleLazyObject(read)}
