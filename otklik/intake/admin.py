from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from otklik.intake.models import ImportJob, ImportRow, Post, Source


class SourceAdminForm(forms.ModelForm):
    """The token is write-only: never rendered back; empty keeps the stored one."""

    token = forms.CharField(
        label=_("token"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Empty keeps the stored token; a new value replaces it. It is never shown back."),
    )

    class Meta:
        model = Source
        fields = ("channel", "account", "name", "is_active", "config", "poll_interval")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Sources are usually edited at /settings/sources/; here the state fields are read-only (the poller owns
    them) and the token is write-only."""

    form = SourceAdminForm
    list_display = ("name", "channel", "account", "is_active", "state", "failures", "last_polled_at", "created_at")
    list_filter = ("channel", "is_active", "state")
    search_fields = ("name", "account")
    readonly_fields = (
        "token_state",
        "state",
        "failures",
        "last_error",
        "broken_reason",
        "broken_at",
        "last_polled_at",
        "next_poll_at",
        "cursor",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("channel", "account", "name", "is_active", "config", "poll_interval")}),
        (_("token"), {"fields": ("token_state", "token")}),
        (
            _("polling"),
            {
                "fields": (
                    "state",
                    "failures",
                    "last_error",
                    "broken_reason",
                    "broken_at",
                    "last_polled_at",
                    "next_poll_at",
                    "cursor",
                    "created_at",
                )
            },
        ),
    )
    actions = ("repair",)

    @admin.display(description=_("token"))
    def token_state(self, obj: Source) -> str:
        return str(_("set") if obj.token_encrypted else _("not set"))

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        token = (form.cleaned_data.get("token") or "").strip()
        if token:
            obj.set_token(token)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Fixed — resume polling"))
    def repair(self, request, queryset):  # type: ignore[no-untyped-def]
        from otklik.intake.polling import do_repair_source

        for source in queryset:
            do_repair_source(source, request.user)


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


class ImportRowInline(admin.TabularInline):
    model = ImportRow
    fields = ("row_number", "outcome", "message", "external_id", "post")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ("row_number",)

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        # The rows worth a look (rejected, warned); the full list is on the import page.
        return super().get_queryset(request).exclude(message="").select_related("post")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Imports are records of what happened: shown, never edited (they run from /import/ or import_posts)."""

    list_display = (
        "id",
        "file_name",
        "channel",
        "status",
        "created_by",
        "created_at",
        "total_rows",
        "imported",
        "updated",
        "skipped",
        "rejected",
    )
    list_filter = ("status", "channel")
    search_fields = ("file_name",)
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    inlines = [ImportRowInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ImportRow)
class ImportRowAdmin(admin.ModelAdmin):
    list_display = ("job", "row_number", "outcome", "external_id", "message")
    list_filter = ("outcome",)
    search_fields = ("external_id", "message")
    list_select_related = ("job",)
    raw_id_fields = ("job", "post")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
