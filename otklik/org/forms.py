"""Forms of the reference-data pages (routing rules, departments) and what every such page shares.

Reference data is not lifecycle state: it is edited directly, but every change is recorded as a Django admin
`LogEntry` (who, when, which fields), the same log the admin writes, so the two ways of editing share one history.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.admin.utils import construct_change_message
from django.db import models, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.org.models import Department, RoutingRule, Territory, Topic, TopicGroup

if TYPE_CHECKING:
    from otklik.accounts.models import User


class StyledFormMixin:
    """Bootstrap classes on every widget (templates render `{{ field }}`; no inline styles)."""

    fields: dict[str, forms.Field]

    def style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                # The class would land on the wrapping <div> too: these are styled by their container instead.
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


def log_change(actor: User, obj: models.Model, *, added: bool, message: Any) -> LogEntry:
    """Record a change of reference data in the admin log (`message`: text or the admin's JSON structure)."""
    flag = ADDITION if added else CHANGE
    return LogEntry.objects.log_actions(actor.pk, [obj], flag, message, single_object=True)  # type: ignore[return-value]


def changed_fields_message(model: type[models.Model], *names: str) -> list[dict[str, Any]]:
    """The admin's change message for `names`, with untranslated labels as the admin stores them."""
    with translation.override(None):
        labels = [capfirst(str(model._meta.get_field(name).verbose_name)) for name in names]  # type: ignore[union-attr]
    return [{"changed": {"fields": labels}}]


@transaction.atomic
def save_logged(form: forms.ModelForm, actor: User, *, prepare_new: Callable[[Any], None] | None = None) -> Any:
    """Save a valid model form and log the change; an edit saves only the changed columns (`update_fields`).

    1. A new object (after `prepare_new(obj)`, e.g. to set a password) is created and logged as an addition.
    2. An existing one saves the changed concrete fields and its many-to-many fields; nothing changed → no log.
    """
    obj = form.save(commit=False)
    added = obj._state.adding
    message = construct_change_message(form, None, added)  # type: ignore[arg-type]
    if added:
        if prepare_new is not None:
            prepare_new(obj)
        obj.save()
        form.save_m2m()
    else:
        concrete = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete]
        if changed:
            obj.save(update_fields=changed)
        form.save_m2m()
        if not message:
            return obj
    log_change(actor, obj, added=added, message=message)
    return obj


def with_current(queryset: models.QuerySet[Any], *current_ids: int | None) -> models.QuerySet[Any]:
    """Active rows, plus the ones the object already points to (an inactive choice must stay visible)."""
    ids = [pk for pk in current_ids if pk is not None]
    return queryset.filter(Q(is_active=True) | Q(pk__in=ids))


class RoutingRuleForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "group",
            "topic",
            "territory",
            "keywords",
            "lead",
            "lead_from_building",
            "co_executors",
            "due_hours",
            "order",
            "is_active",
        ]
        widgets = {
            "keywords": forms.Textarea(attrs={"rows": 2}),
            "co_executors": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "group": gettext_lazy("A rule for a whole group applies to every topic of the group without its own rule."),
            "topic": gettext_lazy("A rule for a topic is more specific than a rule for its group and wins over it."),
            "territory": gettext_lazy("Leave empty for the whole city."),
            "order": gettext_lazy("Among equally specific rules the one with the lower number wins."),
            "lead_from_building": gettext_lazy(
                "For housing topics: when the post names a building of the gazetteer, its managing company leads; "
                "otherwise the lead department above."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule: RoutingRule = self.instance
        co_ids = list(rule.co_executors.values_list("pk", flat=True)) if rule.pk else []
        self.fields["lead"].queryset = with_current(Department.objects.all(), rule.lead_id)  # type: ignore[attr-defined]
        self.fields["co_executors"].queryset = with_current(Department.objects.all(), *co_ids)  # type: ignore[attr-defined]
        for name in ("lead", "co_executors"):
            # Full names, in the order they are sorted by (short names alone would look unsorted).
            self.fields[name].label_from_instance = attrgetter("name")  # type: ignore[attr-defined]
        self.fields["group"].queryset = TopicGroup.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["territory"].queryset = Territory.objects.order_by("name")  # type: ignore[attr-defined]
        topics = with_current(Topic.objects.select_related("group"), rule.topic_id).order_by("group__name", "name")
        topic_field = self.fields["topic"]
        topic_field.queryset = topics  # type: ignore[attr-defined]
        # Topics grouped by their rubricator group: a list of hundreds is unreadable otherwise.
        grouped: dict[str, list[tuple[int, str]]] = {}
        for topic in topics:
            grouped.setdefault(topic.group.name, []).append((topic.pk, str(topic)))
        empty = topic_field.empty_label  # type: ignore[attr-defined]
        topic_field.choices = [("", empty), *((name, items) for name, items in grouped.items())]  # type: ignore[attr-defined]
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        group, topic = data.get("group"), data.get("topic")
        if group is None and topic is None and "group" not in self.errors and "topic" not in self.errors:
            self.add_error("group", _("Choose a group or a topic: a rule needs one of them."))
        elif group is not None and topic is not None and topic.group_id != group.pk:
            self.add_error(
                "topic",
                _("The topic «%(topic)s» belongs to the group «%(group)s»; choose that group or leave it empty.")
                % {"topic": topic.name, "group": topic.group.name},
            )
        lead, co = data.get("lead"), data.get("co_executors")
        if lead is not None and co and lead in co:
            self.add_error("co_executors", _("The lead department cannot also be its own co-executor."))
        due = data.get("due_hours")
        if due is not None and due <= 0:
            self.add_error("due_hours", _("The due time must be more than zero working hours."))
        return data


class DepartmentForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Department
        fields = ["name", "short_name", "kind", "parent", "email", "phone", "contacts", "is_active"]
        widgets = {"contacts": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "short_name": gettext_lazy("Shown in lists, e.g. «ЖКХ»."),
            "email": gettext_lazy("New assignments are also sent here."),
            "is_active": gettext_lazy("An inactive department receives no new assignments; its history stays."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = with_current(Department.objects.all(), self.instance.parent_id)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        self.style_widgets()

    def clean_parent(self) -> Department | None:
        parent: Department | None = self.cleaned_data.get("parent")
        if parent is None or self.instance.pk is None:
            return parent
        seen: set[int] = set()
        node: Department | None = parent
        while node is not None and node.pk not in seen:
            if node.pk == self.instance.pk:
                raise forms.ValidationError(_("A department cannot be inside itself or inside its own unit."))
            seen.add(node.pk)
            node = node.parent
        return parent
