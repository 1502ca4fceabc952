"""The form of a polled source (/settings/sources/): the connector's settings as plain fields, a write-only token."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from otklik.intake.choices import Channel
from otklik.intake.polling import MIN_INTERVAL
from otklik.org.forms import StyledFormMixin

if TYPE_CHECKING:
    from otklik.intake.models import Source

POLLED_CHANNELS = [(Channel.VK.value, Channel.VK.label), (Channel.TELEGRAM.value, Channel.TELEGRAM.label)]


def split_keywords(text: str) -> list[str]:
    """Keywords one per line or separated by commas, blanks and repeats dropped, order kept."""
    words: list[str] = []
    for part in re.split(r"[,\n;]+", text or ""):
        word = part.strip()
        if word and word not in words:
            words.append(word)
    return words


class SourceForm(StyledFormMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Network"), choices=POLLED_CHANNELS)
    name = forms.CharField(
        label=_("Name"), max_length=255, help_text=_("As operators see it, e.g. «VK: city administration».")
    )
    group_id = forms.CharField(
        label=_("VK community id"),
        required=False,
        max_length=20,
        help_text=_("A number, without the minus sign (VK only)."),
    )
    discussion_chat_id = forms.CharField(
        label=_("Discussion chat id"),
        required=False,
        max_length=32,
        help_text=_("The discussion group of the city's channel, e.g. -1001234567890 (Telegram only; optional)."),
    )
    api_url = forms.CharField(
        label=_("API address"),
        required=False,
        max_length=500,
        help_text=_("Empty: the network's own. The address of an emulator for tests and the demo."),
    )
    keywords = forms.CharField(
        label=_("Search keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Separated by commas (VK: search in the news feed; optional)."),
    )
    poll_interval = forms.IntegerField(
        label=_("Poll every, seconds"),
        initial=60,
        help_text=_("At least %(n)s seconds.") % {"n": MIN_INTERVAL},
    )
    is_active = forms.BooleanField(label=_("Poll this source"), required=False, initial=True)
    token = forms.CharField(
        label=_("Token"),
        required=False,
        strip=True,
        max_length=500,
        # Never rendered back: the page says only whether a token is stored.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, source: Source | None = None, **kwargs: Any) -> None:
        self.source = source
        if source is not None and "initial" not in kwargs:
            config = source.config or {}
            kwargs["initial"] = {
                "channel": source.channel,
                "name": source.name,
                "group_id": config.get("group_id", ""),
                "discussion_chat_id": config.get("discussion_chat_id", ""),
                "api_url": config.get("api_url", ""),
                "keywords": ", ".join(str(word) for word in config.get("keywords") or []),
                "poll_interval": source.poll_interval,
                "is_active": source.is_active,
            }
        super().__init__(*args, **kwargs)
        self.style_widgets()
        self.fields["channel"].widget.attrs["data-source-channel"] = ""
        for name in ("group_id", "keywords"):
            self.fields[name].widget.attrs["data-channel-only"] = Channel.VK.value
        self.fields["discussion_chat_id"].widget.attrs["data-channel-only"] = Channel.TELEGRAM.value
        has_token = bool(source is not None and source.token_encrypted)
        self.fields["token"].help_text = (
            _("A token is stored. Leave empty to keep it; enter a new one to replace it.")
            if has_token
            else _("Not set yet. VK: a community access key; Telegram: the bot token from @BotFather.")
        )

    @property
    def has_token(self) -> bool:
        return bool(self.source is not None and self.source.token_encrypted)

    def clean_group_id(self) -> str:
        value = self.cleaned_data["group_id"].strip().lstrip("-")
        if value and not value.isdigit():
            raise forms.ValidationError(_("The community id is a number, e.g. 1."))
        return value

    def clean_discussion_chat_id(self) -> str:
        value = self.cleaned_data["discussion_chat_id"].strip()
        if value and not re.fullmatch(r"-?\d+", value):
            raise forms.ValidationError(_("The chat id is a number, e.g. -1001234567890."))
        return value

    def clean_api_url(self) -> str:
        value = self.cleaned_data["api_url"].strip()
        if value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("Enter an address starting with http:// or https://, e.g. http://127.0.0.1:8081.")
                ) from None
        return value.rstrip("/")

    def clean_poll_interval(self) -> int:
        value = self.cleaned_data["poll_interval"]
        if value < MIN_INTERVAL:
            raise forms.ValidationError(
                _("Poll no more often than every %(n)s seconds: the networks limit requests.") % {"n": MIN_INTERVAL}
            )
        if value > 86400:
            raise forms.ValidationError(_("Poll at least once a day (86400 seconds)."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channel = data.get("channel")
        if channel == Channel.VK and not data.get("group_id") and "group_id" not in self.errors:
            self.add_error("group_id", _("Enter the id of the VK community."))
        if not data.get("token") and not (self.has_token and self.source and self.source.channel == channel):
            self.add_error("token", _("Enter the token: without it the source cannot be polled."))
        return data

    def config(self) -> dict[str, Any]:
        """The connector's settings from the cleaned fields (only those of the chosen network)."""
        data = self.cleaned_data
        config: dict[str, Any] = {}
        if self.source is not None:
            # Keys this form does not edit (set by a command or a connector) are kept.
            config.update(
                {
                    key: value
                    for key, value in (self.source.config or {}).items()
                    if key not in {"group_id", "discussion_chat_id", "api_url", "keywords"}
                }
            )
        config["api_url"] = data.get("api_url", "")
        if data["channel"] == Channel.VK:
            config["group_id"] = int(data["group_id"]) if data.get("group_id") else ""
            config["keywords"] = split_keywords(data.get("keywords", ""))
        else:
            chat = data.get("discussion_chat_id", "")
            config["discussion_chat_id"] = int(chat) if chat else ""
        return config
