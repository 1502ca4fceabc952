"""Forms of the incident card. They only check the shape of the input; the `do_*` services decide the rest.

Every form takes `auto_id` from the card (ids must be unique on one page: several forms have a `comment` or a
`note`), while the field names stay plain so that a request reads naturally (`comment=…`, `reason=…`).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from otklik.answers.choices import AnswerKind
from otklik.cases.choices import IncidentStatus, NoAnswerReason, ReworkCriterion
from otklik.org.models import Department, Territory, Topic

if TYPE_CHECKING:
    from otklik.cases.models import Incident


class CardForm(forms.Form):
    """Bootstrap classes on every widget; `auto_id` defaults to a prefix of the form's own name."""

    name = "form"
    # The server's messages (Russian, next to the field) rather than the browser's own bubbles.
    use_required_attribute = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_{self.name}_%s")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)

    def add_error(self, field: str | None, error: Any) -> None:
        """Also marks the widget invalid (Bootstrap's red outline) next to its message."""
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()


def topic_choices(current: Topic | None = None) -> list[tuple[str, list[tuple[int, str]]]]:
    """Active topics grouped by their group (the select shows the rubricator's structure); ★ marks priority."""
    topics = Topic.objects.filter(is_active=True).select_related("group").order_by("group__name", "name")
    grouped: dict[str, list[tuple[int, str]]] = {}
    for topic in topics:
        grouped.setdefault(topic.group.name, []).append((topic.pk, str(topic)))
    if current is not None and not current.is_active:
        grouped.setdefault(current.group.name, []).insert(0, (current.pk, str(current)))
    return list(grouped.items())


class ClassifyForm(CardForm):
    name = "classify"

    topic = forms.TypedChoiceField(label=_("Topic"), coerce=int)

    def __init__(self, *args: Any, current: Topic | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.TypedChoiceField", self.fields["topic"])
        field.choices = [("", _("— choose a topic —")), *topic_choices(current)]

    def clean_topic(self) -> Topic:
        pk = self.cleaned_data["topic"]
        topic = Topic.objects.select_related("group").filter(pk=pk).first()
        if topic is None:
            raise forms.ValidationError(_("Choose a topic from the list."))
        return topic


class DetailsForm(CardForm):
    name = "details"

    address = forms.CharField(label=_("Address"), max_length=500, required=False)
    territory = forms.ModelChoiceField(
        label=_("Territory"), queryset=Territory.objects.order_by("name"), required=False, empty_label="—"
    )
    priority = forms.BooleanField(label=_("Priority ★"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priority"].widget.attrs["class"] = "form-check-input"


class NoAnswerForm(CardForm):
    name = "no_answer"

    # Not required here: the service asks for it in its own words.
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *NoAnswerReason.choices], required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class WaitForm(CardForm):
    name = "wait"

    # Required by the service, which says so in its own words.
    note = forms.CharField(
        label=_("What the citizen was asked"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RestoreForm(CardForm):
    name = "restore"

    # Required by the service, which says so in its own words.
    note = forms.CharField(
        label=_("Why it goes back to work"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class MergeForm(CardForm):
    name = "merge"

    into = forms.IntegerField(
        label=_("Incident number"),
        min_value=1,
        error_messages={"required": _("Give the number of the incident to merge into.")},
    )
    note = forms.CharField(label=_("Note"), required=False)


class SplitForm(CardForm):
    name = "split"

    post_ids = forms.TypedMultipleChoiceField(
        label=_("Posts about another problem"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose the posts to split off.")},
    )
    note = forms.CharField(label=_("Note"), required=False)

    def __init__(self, *args: Any, incident: Incident | None = None, posts: list[Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = cast("forms.TypedMultipleChoiceField", self.fields["post_ids"])
        field.choices = [(p.pk, f"{p.author_name or '—'}: {p.text[:80]}") for p in (posts or [])]


class UnmergeForm(CardForm):
    name = "unmerge"

    note = forms.CharField(label=_("Note"), required=False)


class DepartmentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Departments by their full names (the short ones are for tight lists)."""

    def label_from_instance(self, obj: Department) -> str:
        return obj.name


class DepartmentMultipleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Department) -> str:
        return obj.name


class RouteForm(CardForm):
    name = "route"

    lead = DepartmentChoiceField(
        label=_("Lead department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        error_messages={"required": _("Choose the lead department.")},
    )
    co_executors = DepartmentMultipleChoiceField(
        label=_("Co-executors"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    due_hours = forms.DecimalField(
        label=_("Due time, working hours"),
        min_value=Decimal("0.5"),
        max_value=Decimal("999"),
        decimal_places=2,
        required=False,
    )
    request = forms.CharField(
        label=_("What the service asks"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Both lists show the same departments: read them once, when the form is rendered (each field would
        # otherwise read them again on every render). Validation still checks against the queryset.
        lead = cast("forms.ModelChoiceField[Department]", self.fields["lead"])
        departments = _DepartmentList(cast("QuerySet[Department]", lead.queryset))
        for name in ("lead", "co_executors"):
            field = cast("forms.ModelChoiceField[Department]", self.fields[name])
            field.iterator = departments.iterator_class
            field.widget.choices = field.choices


class _DepartmentList:
    """The active departments read once for all the fields of a form that list them."""

    def __init__(self, queryset: QuerySet[Department]) -> None:
        self.queryset = queryset
        self._objects: list[Department] | None = None

    def objects(self) -> list[Department]:
        if self._objects is None:
            self._objects = list(self.queryset)
        return self._objects

    @property
    def iterator_class(self) -> type[ModelChoiceIterator]:
        shared = self

        class SharedIterator(ModelChoiceIterator):
            def __iter__(self) -> Iterator[Any]:
                if self.field.empty_label is not None:
                    yield ("", self.field.empty_label)
                for obj in shared.objects():
                    yield self.choice(obj)

            def __len__(self) -> int:
                return len(shared.objects()) + (1 if self.field.empty_label is not None else 0)

            def __bool__(self) -> bool:
                return self.field.empty_label is not None or bool(shared.objects())

        return SharedIterator


class ReworkForm(CardForm):
    name = "rework"

    criteria = forms.MultipleChoiceField(
        label=_("What is wrong"),
        choices=ReworkCriterion.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one reason.")},
    )
    comment = forms.CharField(
        label=_("What must be corrected"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


PUBLISH = "publish"
APPROVAL = "approval"


class AnswerForm(CardForm):
    """A new answer: drafted and then published (or sent for approval) in one step."""

    name = "answer"

    kind = forms.ChoiceField(label=_("Kind"), choices=AnswerKind.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("Text of the answer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 7, "data-answer-text": ""}),
    )
    promised_date = forms.DateField(
        label=_("Final answer promised by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    link = forms.URLField(
        label=_("Link to the reply published in the network"),
        required=False,
        max_length=1000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://vk.com/wall-…"}),
    )
    override_reason = forms.CharField(
        label=_("Why publish without the accepted information"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # The head of the service's override of the quality gate (errors found by otklik.answers.checks).
    quality_override_reason = forms.CharField(
        label=_("Why publish despite the quality errors"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Which button was pressed; Ctrl+Enter submits without one and means "publish".
    action = forms.ChoiceField(
        choices=[(PUBLISH, PUBLISH), (APPROVAL, APPROVAL)], required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, link_required: bool = True, **kwargs: Any) -> None:
        # False when the incident's thread is answered by a channel adapter (otklik.answers.outbox): the outbox
        # publishes the reply itself and records its link, so there is nothing to paste.
        self.link_required = link_required
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("action"):
            data["action"] = PUBLISH
        if data.get("action") == PUBLISH and self.link_required and not data.get("link") and "link" not in self.errors:
            self.add_error("link", _("Paste the link of the reply you published in the network."))
        return data


class AnswerUpdateForm(AnswerForm):
    """An answer already drafted (returned by the head, or approved): published or sent for approval again."""

    name = "answer_update"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["kind"]


class RejectAnswerForm(CardForm):
    name = "reject"

    comment = forms.CharField(
        label=_("What must be corrected"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(CardForm):
    name = "close"

    note = forms.CharField(label=_("Note"), required=False)


class ReopenForm(CardForm):
    name = "reopen"

    reason = forms.CharField(
        label=_("Why the incident is reopened"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    to = forms.ChoiceField(
        label=_("Where it goes"),
        choices=[
            (IncidentStatus.ROUTED, _("Back to the departments (they are asked again)")),
            (IncidentStatus.ANSWERING, _("To answering (the information is enough)")),
        ],
        initial=IncidentStatus.ROUTED,
        widget=forms.RadioSelect,
    )
