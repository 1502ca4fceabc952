"""NLP in Django admin: spikes (read-only, the detector creates and ends them), the topic model's versions (with
the rollback and "Retrain now"), and the operators' training labels (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from otklik.core.errors import DomainError
from otklik.nlp.models import ModelVersion, Spike, TrainedBy, TrainingLabel

if TYPE_CHECKING:
    from otklik.accounts.models import User


@admin.register(Spike)
class SpikeAdmin(admin.ModelAdmin):
    list_display = ("detected_at", "kind", "key", "window", "count", "baseline", "is_active", "notified_at")
    list_filter = ("kind", "window", "is_active")
    search_fields = ("key",)
    date_hierarchy = "detected_at"
    readonly_fields = (
        "kind",
        "key",
        "window",
        "count",
        "baseline",
        "incident_ids",
        "is_active",
        "detected_at",
        "last_seen_at",
        "ended_at",
        "notified_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _metric(metrics: dict[str, Any], which: str) -> str:
    m = metrics.get(which) or {}
    if not m:
        return "—"
    return f"{m.get('accuracy', 0):.3f} / {m.get('macro_f1', 0):.3f}"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Versions of the topic model with their metrics against the model they would replace; "Make it the working
    model" is the rollback (or roll-forward); "Retrain now" queues a retrain (otklik.nlp.training)."""

    list_display = (
        "version",
        "status",
        "created_at",
        "new_metrics",
        "old_metrics",
        "n_corpus",
        "n_labels",
        "trained_by",
        "activated_at",
    )
    list_filter = ("status", "trained_by")
    search_fields = ("version", "note")
    date_hierarchy = "created_at"
    readonly_fields = (
        "version",
        "status",
        "path",
        "trained_by",
        "data_hash",
        "n_corpus",
        "n_labels",
        "metrics",
        "note",
        "created_at",
        "finished_at",
        "activated_at",
        "activated_by",
    )
    actions = ["make_working"]
    change_list_template = "admin/nlp/modelversion/change_list.html"

    @admin.display(description=_("new: accuracy / macro-F1"))
    def new_metrics(self, obj: ModelVersion) -> str:
        return _metric(obj.metrics, "candidate")

    @admin.display(description=_("working then: accuracy / macro-F1"))
    def old_metrics(self, obj: ModelVersion) -> str:
        return _metric(obj.metrics, "current")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shown read-only so the actions are reachable; fields are never saved here.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "retrain/",
                self.admin_site.admin_view(self.retrain_view),
                name="nlp_modelversion_retrain",
            )
        ]
        return urls + super().get_urls()

    @admin.action(description=_("Make it the working model"))
    def make_working(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        from otklik.nlp.training import do_activate_version

        if queryset.count() != 1:
            messages.error(request, _("Choose exactly one version."))
            return
        version = queryset.get()
        try:
            do_activate_version(version, actor=cast("User", request.user))
        except DomainError as exc:
            messages.error(request, exc.message)
            return
        messages.success(request, _("Version %(version)s is now the working model.") % {"version": version.version})

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        from otklik.nlp.tasks import retrain_topic_model

        retrain_topic_model.delay_on_commit(trained_by=TrainedBy.MANUAL, force=True)
        messages.success(request, _("The retrain is queued; the new version will appear in this list."))
        return HttpResponseRedirect(reverse("admin:nlp_modelversion_changelist"))


@admin.register(TrainingLabel)
class TrainingLabelAdmin(admin.ModelAdmin):
    """Operators' decisions kept as training labels: read-only (the services of the cases app write them)."""

    list_display = ("created_at", "what", "value", "previous", "group", "incident", "actor", "is_current")
    list_filter = ("what", "is_current", "group", "actor")
    search_fields = ("text", "value", "previous", "incident__id")
    list_select_related = ("incident", "actor")
    date_hierarchy = "created_at"
    readonly_fields = (
        "what",
        "incident",
        "post",
        "text",
        "value",
        "topic",
        "group",
        "previous",
        "actor",
        "is_current",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
