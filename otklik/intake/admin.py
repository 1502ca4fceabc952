from __future__ import annotations

from django.contrib import admin

from otklik.intake.models import Post, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "account", "is_active", "created_at")
    list_filter = ("channel", "is_active")
    search_fields = ("name", "account")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    """Posts are evidence: shown, never edited by hand."""

    list_display = ("id", "source", "external_id", "author_name", "posted_at", "incident", "analysis_status")
    list_filter = ("source__channel", "analysis_status")
    search_fields = ("text", "external_id", "author_name")
    list_select_related = ("source", "incident")
    date_hierarchy = "posted_at"

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
