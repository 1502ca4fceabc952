"""Notifications in the admin: who was told what, and whether the e-mail went out."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from otklik.notifications.email import do_resend_failed
from otklik.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "email_status", "emailed_at", "read_at")
    list_filter = ("kind", "email_status", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "body", "recipient__username", "recipient__email", "dedup_key")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    actions = ("resend_email",)
    readonly_fields = (
        "recipient",
        "kind",
        "title",
        "body",
        "url",
        "incident",
        "assignment",
        "dedup_key",
        "email_status",
        "email_error",
        "emailed_at",
        "read_at",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # notifications come from events, not from the admin

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Send the failed e-mails again"), permissions=["change"])
    def resend_email(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = do_resend_failed(queryset.values_list("pk", flat=True))
        if count:
            self.message_user(
                request,
                ngettext("%(count)d e-mail queued again.", "%(count)d e-mails queued again.", count) % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, gettext("No failed e-mails among the selected notifications."), messages.WARNING)
