"""Read side of notifications: a user sees only his own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from otklik.notifications.models import Notification

if TYPE_CHECKING:
    from otklik.accounts.models import User


def notifications_of(user: User) -> QuerySet[Notification]:
    """The notifications of `user`, newest first; nothing for an anonymous or deactivated user."""
    if not user.is_authenticated or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    return notifications_of(user).filter(read_at__isnull=True).count()
