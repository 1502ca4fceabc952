"""Incidents in Django admin: read-only records; every change is an action that calls a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from otklik.accounts.models import User
from otklik.answers.models import Answer
from otklik.cases import services
from otklik.cases.models import Assignment, Event, Incident
from otklik.core.errors import DomainError
from otklik.intake.models import Post


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PostInline(ReadOnlyInline):
    model = Post
    fields = ("source", "author_name", "posted_at", "text", "url")


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fields = ("department", "role", "status", "due_at", "information", "submitted_at")


class AnswerInline(ReadOnlyInline):
    model = Answer
    fields = ("kind", "status", "text", "promised_date", "published_at", "link")


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("created_at", "actor", "verb", "before", "after", "message")
    show_change_link = False


def _actor(request: HttpRequest) -> User:
    """Admin pages are only for logged-in staff: the user is a real `User`."""
    return cast("User", request.user)


def _apply(request: HttpRequest, queryset: QuerySet[Any], action: Callable[[Any], Any], done: str) -> None:
    ok = 0
    for obj in queryset:
        try:
            action(obj)
        except DomainError as exc:
            messages.error(request, f"#{obj.pk}: {exc.message}")
        else:
            ok += 1
    if ok:
        messages.success(request, f"{done}: {ok}")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "group", "topic", "priority", "lead_department", "owner", "due_at", "created_at")
    list_filter = ("status", "priority", "group", "lead_department")
    search_fields = ("id", "address", "posts__text")
    list_select_related = ("group", "topic", "lead_department", "owner")
    date_hierarchy = "created_at"
    inlines = [PostInline, AssignmentInline, AnswerInline, EventInline]
    actions = ["take", "to_triage", "no_answer_spam", "no_answer_abusive", "close"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The page is shown (read-only) so the actions and inlines are reachable; fields are never saved here.
        return obj is None and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Take (become the owner)"))
    def take(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        _apply(request, queryset, lambda i: services.do_take(i, actor=_actor(request)), str(_("Taken")))

    @admin.action(description=_("Send to triage"))
    def to_triage(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        _apply(request, queryset, lambda i: services.do_send_to_triage(i, actor=_actor(request)), str(_("Done")))

    @admin.action(description=_("No answer needed: spam"))
    def no_answer_spam(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        _apply(
            request,
            queryset,
            lambda i: services.do_mark_no_answer(i, actor=_actor(request), reason="spam"),
            str(_("Done")),
        )

    @admin.action(description=_("No answer needed: insults"))
    def no_answer_abusive(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        _apply(
            request,
            queryset,
            lambda i: services.do_mark_no_answer(i, actor=_actor(request), reason="abusive"),
            str(_("Done")),
        )

    @admin.action(description=_("Close"))
    def close(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        _apply(request, queryset, lambda i: services.do_close(i, actor=_actor(request)), str(_("Closed")))


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "incident", "department", "role", "status", "due_at", "submitted_at")
    list_filter = ("status", "role", "department")
    search_fields = ("incident__id", "information")
    list_select_related = ("incident", "department")
    readonly_fields = [f.name for f in Assignment._meta.fields]
    actions = ["accept"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Accept the information"))
    def accept(self, request: HttpRequest, queryset: QuerySet[Assignment]) -> None:
        _apply(
            request, queryset, lambda a: services.do_accept_information(a, actor=_actor(request)), str(_("Accepted"))
        )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "incident", "verb", "actor", "message")
    list_filter = ("verb",)
    search_fields = ("incident__id", "message")
    list_select_related = ("incident", "actor")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
