"""Forms of the import pages: the upload, the reading options, the column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.core import uploads
from otklik.core.errors import DomainError
from otklik.intake.choices import Channel
from otklik.intake.importing import (
    REQUIRED_TARGETS,
    TARGET_LABELS,
    TARGETS,
    column_label,
    delimiter_code,
    max_upload_bytes,
)
from otklik.intake.services import validate_import_mapping

CHANNEL_CHOICES = [(Channel.IM.value, Channel.IM.label), (Channel.POS.value, Channel.POS.label)]
ENCODING_CHOICES = [
    ("auto", gettext_lazy("automatically (UTF-8 or Windows-1251)")),
    ("utf-8", "UTF-8"),
    ("cp1251", "Windows-1251"),
]
DELIMITER_CHOICES = [
    ("auto", gettext_lazy("automatically")),
    (";", gettext_lazy("semicolon «;»")),
    (",", gettext_lazy("comma «,»")),
    ("tab", gettext_lazy("tab")),
]
TARGET_HELP = {
    "text": gettext_lazy("The citizen's message. Rows without it are rejected."),
    "posted_at": gettext_lazy(
        "29.11.2026 14:05, 2026-11-29 14:05:00, ISO or an Excel date; without a zone it is the city's time."
    ),
    "external_id": gettext_lazy(
        "«ID инцидента», «Номер сообщения». Without it the id is made from the text, date and author."
    ),
    "topic": gettext_lazy("A topic of the rubricator; an unknown one is kept as a warning and the post is imported."),
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        error_messages={
            "required": gettext_lazy("Choose a CSV or XLSX file."),
            "empty": gettext_lazy("The file is empty."),
        },
    )
    channel = forms.ChoiceField(label=gettext_lazy("Source"), choices=CHANNEL_CHOICES, initial=Channel.IM)
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding"), choices=ENCODING_CHOICES, initial="auto", required=False
    )
    delimiter = forms.ChoiceField(
        label=gettext_lazy("Delimiter"), choices=DELIMITER_CHOICES, initial="auto", required=False
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s MB, more than the limit of %(limit)s MB: split it into parts.")
                % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": limit // (1024 * 1024)}
            )
        # Type by extension and contents (a program or a page renamed to .csv is refused; otklik.core.uploads).
        return uploads.validate_upload(upload, uploads.IMPORT_TABLE, max_bytes=limit)


class RereadForm(forms.Form):
    encoding = forms.ChoiceField(label=gettext_lazy("Encoding"), choices=ENCODING_CHOICES)
    delimiter = forms.ChoiceField(label=gettext_lazy("Delimiter"), choices=DELIMITER_CHOICES)

    @classmethod
    def for_job(cls, job: Any) -> RereadForm:
        encoding = "utf-8" if job.encoding in ("utf-8", "utf-8-sig") else job.encoding
        return cls(initial={"encoding": encoding or "auto", "delimiter": delimiter_code(job.delimiter) or "auto"})


class MappingForm(forms.Form):
    """One select per target field, offering the file's columns; the source of the posts."""

    channel = forms.ChoiceField(label=gettext_lazy("Source"), choices=CHANNEL_CHOICES)

    def __init__(self, *args: Any, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        columns = [("", _("— not in the file —"))] + [(str(i), column_label(headers, i)) for i in range(len(headers))]
        for target in TARGETS:
            required = target in REQUIRED_TARGETS
            self.fields[target] = forms.ChoiceField(
                label=TARGET_LABELS[target],
                choices=columns,
                required=required,
                help_text=TARGET_HELP.get(target, ""),
                error_messages={
                    "required": _("Choose the column with the %(field)s: it is required.")
                    % {"field": str(TARGET_LABELS[target]).lower()}
                },
            )

    @classmethod
    def for_job(cls, job: Any, data: Any = None) -> MappingForm:
        initial: dict[str, Any] = {t: str(i) for t, i in job.mapping.items()}
        initial["channel"] = job.channel
        return cls(data, headers=list(job.headers), initial=initial)

    def mapping_from(self, data: dict[str, Any]) -> dict[str, int]:
        mapping: dict[str, int] = {}
        for target in TARGETS:
            value = data.get(target)
            if value not in (None, ""):
                mapping[target] = int(value)
        return mapping

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            cleaned["mapping"] = validate_import_mapping(self.mapping_from(cleaned), self.headers)
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned

    def lenient_mapping(self) -> dict[str, int]:
        """The mapping as currently chosen (for the preview), even when it is not valid yet."""
        source = self.data if self.is_bound else self.initial
        mapping: dict[str, int] = {}
        for target in TARGETS:
            value = source.get(target)
            if value not in (None, "") and str(value).isdigit() and int(value) < len(self.headers):
                mapping[target] = int(value)
        return mapping
