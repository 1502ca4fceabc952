from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from otklik.intake.choices import Channel
from otklik.org.forms import StyledFormMixin
from otklik.privacy.services import Person


class PersonForm(StyledFormMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Any channel")), *Channel.choices])
    author_id = forms.CharField(
        label=_("Profile id"),
        required=False,
        max_length=255,
        help_text=_("As in the post's card (e.g. the VK user id). Exact match."),
    )
    author_name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=255,
        help_text=_("When the profile id is unknown: the name as the author signed, without regard to case."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["person"] = Person(
                channel=data.get("channel") or "",
                author_id=data.get("author_id") or "",
                author_name=data.get("author_name") or "",
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from error
        return data


class ErasureForm(PersonForm):
    reason = forms.CharField(
        label=_("Basis"),
        max_length=500,
        help_text=_("The citizen's request: its number and date, or another legal basis."),
    )
    confirm = forms.BooleanField(
        label=_("I understand that the author's name, profile and link will be erased and the texts masked for good."),
        required=True,
    )
