"""The form of the approval rules page (/settings/approval/): when an answer needs the head's approval."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otklik.answers.approval import describe_rule
from otklik.answers.choices import AnswerKind
from otklik.answers.models import ApprovalRule
from otklik.org.forms import StyledFormMixin
from otklik.org.models import TopicGroup

# A newcomer's probation longer than ten years is a typo.
MAX_NEW_OPERATOR_DAYS = 3650


class ApprovalRuleForm(StyledFormMixin, forms.ModelForm):
    every_answer = forms.BooleanField(
        label=_("Every answer (no conditions)"),
        required=False,
        help_text=_("Tick to have every answer approved by the head. Otherwise choose at least one condition."),
    )

    class Meta:
        model = ApprovalRule
        fields = ["group", "kind", "high_priority_only", "new_operator_days", "note", "is_active"]
        labels = {"high_priority_only": _("Only priority (★) topics")}
        help_texts = {
            "group": _("Empty: any group."),
            "kind": _("Empty: any kind of answer."),
            "high_priority_only": _("Only incidents whose topic is marked with ★."),
            "new_operator_days": _(
                "Only answers written by operators who joined less than this many days ago. Empty: any author."
            ),
            "note": _("Why the rule exists (shown with the approval reason)."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = TopicGroup.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["group"].empty_label = _("any group")  # type: ignore[attr-defined]
        self.fields["kind"].choices = [("", _("any kind")), *AnswerKind.choices]  # type: ignore[attr-defined]
        self.fields["new_operator_days"].widget.attrs.update({"min": 1, "max": MAX_NEW_OPERATOR_DAYS})
        rule: ApprovalRule = self.instance
        if rule.pk and not _has_condition(rule.group_id, rule.kind, rule.high_priority_only, rule.new_operator_days):
            self.fields["every_answer"].initial = True
        self.style_widgets()

    def clean_new_operator_days(self) -> int | None:
        days = self.cleaned_data.get("new_operator_days")
        if days is None:
            return None
        if days < 1:
            raise forms.ValidationError(_("Give at least one day, or leave the field empty for any author."))
        if days > MAX_NEW_OPERATOR_DAYS:
            raise forms.ValidationError(
                _("Give at most %(days)d days.") % {"days": MAX_NEW_OPERATOR_DAYS}, code="max_value"
            )
        return days

    def clean_note(self) -> str:
        return (self.cleaned_data.get("note") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        group = data.get("group")
        kind = data.get("kind") or ""
        priority = bool(data.get("high_priority_only"))
        days = data.get("new_operator_days")
        conditions = _has_condition(group.pk if group else None, kind, priority, days)
        if not conditions and not data.get("every_answer"):
            raise forms.ValidationError(
                _(
                    "Choose at least one condition (group, kind, priority topics, new operators), "
                    "or tick «Every answer» to have every answer approved."
                )
            )
        if conditions and data.get("every_answer"):
            self.add_error(
                "every_answer", _("«Every answer» means no conditions: clear the conditions or untick this box.")
            )
            return data
        if data.get("is_active"):
            same = ApprovalRule.objects.filter(
                is_active=True, group=group, kind=kind, high_priority_only=priority, new_operator_days=days
            ).exclude(pk=self.instance.pk)
            twin = same.first()
            if twin is not None:
                raise forms.ValidationError(
                    _("An active rule with the same conditions already exists: %(rule)s.")
                    % {"rule": twin.note or describe_rule(twin)}
                )
        return data


def _has_condition(group_id: int | None, kind: str, priority: bool, days: int | None) -> bool:
    return group_id is not None or bool(kind) or priority or days is not None
