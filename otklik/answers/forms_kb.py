"""The form of a knowledge-base article (/kb/…/edit/): text, good and bad examples, the quality checks it explains."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.answers.checks import CODES
from otklik.answers.models import Article
from otklik.org.forms import StyledFormMixin

# What each quality check is about, in a few words (the article form's checkboxes, the list's filter).
CODE_LABELS: dict[str, Any] = {
    "greeting_missing": gettext_lazy("no greeting"),
    "deadline_missing": gettext_lazy("no concrete date or period"),
    "evidence_missing": gettext_lazy("work reported done without a photo or an act"),
    "bureaucratese": gettext_lazy("bureaucratese (канцелярит)"),
    "legal_overload": gettext_lazy("too many legal acts cited"),
    "personal_data": gettext_lazy("personal data"),
    "profanity": gettext_lazy("obscene or insulting words"),
    "too_long": gettext_lazy("the answer is too long"),
    "too_short": gettext_lazy("the answer is too short"),
    "rating_request_after_refusal": gettext_lazy("a request to rate after a refusal"),
    "spelling": gettext_lazy("spelling"),
}

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


# Addresses the knowledge base's own pages use (/kb/new/, /kb/check/…).
RESERVED_SLUGS = frozenset({"new", "check"})


def code_label(code: str) -> str:
    return str(CODE_LABELS.get(code, code))


def slug_for(title: str) -> str:
    """A Latin address from a Russian title: «Сроки в ответе» → «sroki-v-otvete»."""
    latin = "".join(_TRANSLIT.get(ch, ch) for ch in title.lower())
    return slugify(latin)[:100].strip("-")


class ArticleForm(StyledFormMixin, forms.ModelForm):
    codes = forms.MultipleChoiceField(
        label=gettext_lazy("Quality checks the article explains"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("A finding of a chosen check links to this article from the answer editor."),
    )

    class Meta:
        model = Article
        fields = ["title", "slug", "body", "good_example", "bad_example", "codes", "is_published"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 8}),
            "good_example": forms.Textarea(attrs={"rows": 5}),
            "bad_example": forms.Textarea(attrs={"rows": 5}),
        }
        help_texts = {
            "slug": gettext_lazy("Latin letters, digits and dashes; empty: made from the title."),
            "body": gettext_lazy("Plain text; an empty line starts a new paragraph."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["codes"].choices = [(code, f"{code_label(code)} ({code})") for code in CODES]  # type: ignore[attr-defined]
        self.style_widgets()

    def clean_slug(self) -> str:
        slug: str = (self.cleaned_data.get("slug") or "").strip()
        if not slug:
            slug = slug_for(self.data.get(self.add_prefix("title"), "") or "")
        if not slug:
            raise forms.ValidationError(_("Give the article an address: Latin letters, digits and dashes."))
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(
                _("The address «%(slug)s» is reserved by the knowledge base; choose another one.") % {"slug": slug}
            )
        clash = Article.objects.filter(slug=slug).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                _("The address «%(slug)s» is taken by another article; choose another one.") % {"slug": slug}
            )
        return slug

    def clean_codes(self) -> list[str]:
        chosen = set(self.cleaned_data.get("codes") or [])
        return [code for code in CODES if code in chosen]
