"""Forms of the answer-template pages (/settings/answer-templates/): the template itself and its live preview."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.answers.choices import AnswerKind
from otklik.answers.drafting import template_errors
from otklik.answers.models import AnswerTemplate
from otklik.org.forms import StyledFormMixin, with_current
from otklik.org.models import Topic, TopicGroup


class AnswerTemplateForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = AnswerTemplate
        fields = ["name", "kind", "group", "topic", "text", "is_active"]
        widgets = {"text": forms.Textarea(attrs={"rows": 10})}
        help_texts = {
            "group": gettext_lazy("Empty with an empty topic: a general template for every incident."),
            "topic": gettext_lazy("A template for a topic wins over one for its group, which wins over a general one."),
            "text": gettext_lazy("Plain text with variables in double braces, e.g. {{ citizen }}; see the list."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        template: AnswerTemplate = self.instance
        self.fields["group"].queryset = TopicGroup.objects.order_by("name")  # type: ignore[attr-defined]
        topics = with_current(Topic.objects.select_related("group"), template.topic_id).order_by("group__name", "name")
        topic_field = self.fields["topic"]
        topic_field.queryset = topics  # type: ignore[attr-defined]
        grouped: dict[str, list[tuple[int, str]]] = {}
        for topic in topics:
            grouped.setdefault(topic.group.name, []).append((topic.pk, str(topic)))
        empty = topic_field.empty_label  # type: ignore[attr-defined]
        topic_field.choices = [("", empty), *((name, items) for name, items in grouped.items())]  # type: ignore[attr-defined]
        self.style_widgets()
        # The live preview: the whole form is posted (non-GET HTMX requests include the enclosing form).
        live = {"hx-post": reverse("settings-answer-template-preview"), "hx-target": "#preview", "hx-swap": "innerHTML"}
        self.fields["text"].widget.attrs.update({**live, "hx-trigger": "keyup changed delay:500ms"})
        self.fields["kind"].widget.attrs.update({**live, "hx-trigger": "change"})

    def clean_text(self) -> str:
        text: str = self.cleaned_data.get("text", "")
        errors = template_errors(text)
        if errors:
            raise forms.ValidationError([forms.ValidationError(e, code="template_syntax") for e in errors])
        return text

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        group, topic = data.get("group"), data.get("topic")
        if group is not None and topic is not None and topic.group_id != group.pk:
            self.add_error(
                "topic",
                forms.ValidationError(
                    _("The topic «%(topic)s» belongs to the group «%(group)s»; choose that group or leave it empty.")
                    % {"topic": topic.name, "group": topic.group.name},
                    code="topic_group",
                ),
            )
        return data


class TemplatePreviewForm(forms.Form):
    """What the preview renders: the text being typed, its kind, optionally a real incident by number."""

    text = forms.CharField(required=False, strip=False, max_length=20_000)
    kind = forms.ChoiceField(choices=AnswerKind.choices, required=False)
    incident = forms.CharField(required=False, max_length=20)

    def clean_incident(self) -> int | None:
        value = (self.cleaned_data.get("incident") or "").strip().lstrip("#№ ")
        if not value:
            return None
        if not value.isdigit() or len(value) > 12:
            raise forms.ValidationError(_("Enter the number of an incident, e.g. 1024."), code="incident_number")
        return int(value)
