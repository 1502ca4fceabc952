from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def otklik(request: HttpRequest) -> dict[str, Any]:
    """What every page needs: the city and the user's unread notifications."""
    context: dict[str, Any] = {"city_name": settings.OTKLIK_CITY_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from otklik.notifications.selectors import unread_count

        context["unread_notifications"] = unread_count(user)
    return context
