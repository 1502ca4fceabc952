"""Forms of a department's assignment page: the one answer form (information or "not our competence") and the
department head's "give to an executor".

Attachments are checked here, before any service is called, so that a refused file leaves nothing behind: the
extension must be one of ALLOWED_TYPES, the size at most MAX_FILE_SIZE, and the first bytes must look like the type
the extension claims (a renamed program or a mislabelled file is refused with the file's name in the message).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from otklik.accounts.choices import DEPARTMENT_ROLES

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from otklik.accounts.models import User
    from otklik.cases.models import Assignment

MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_FILES = 10
SNIFF_BYTES = 1024


def _jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"})


def _heic(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS


def _pdf(head: bytes) -> bool:
    # The PDF reference lets a reader find the header within the first 1024 bytes.
    return b"%PDF-" in head[:SNIFF_BYTES]


def _zip(head: bytes) -> bool:
    """docx, xlsx and odt are zip containers."""
    return head.startswith(b"PK\x03\x04")


def _ole(head: bytes) -> bool:
    """Old Word and Excel files are OLE compound documents."""
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _doc(head: bytes) -> bool:
    # Word happily saves RTF under a .doc name; that is a document, not a threat.
    return _ole(head) or head.startswith(b"{\\rtf")


# extension → (content type stored with the file, check of the first bytes)
ALLOWED_TYPES: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "jpg": ("image/jpeg", _jpeg),
    "jpeg": ("image/jpeg", _jpeg),
    "png": ("image/png", _png),
    "webp": ("image/webp", _webp),
    "heic": ("image/heic", _heic),
    "pdf": ("application/pdf", _pdf),
    "doc": ("application/msword", _doc),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip),
    "xls": ("application/vnd.ms-excel", _ole),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip),
    "odt": ("application/vnd.oasis.opendocument.text", _zip),
}
ALLOWED_LIST = ", ".join(ALLOWED_TYPES)
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in ALLOWED_TYPES)


def extension_of(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def check_upload(upload: UploadedFile) -> str | None:
    """The reason `upload` is refused (a Russian sentence naming the file), or None when it is acceptable.

    1. The extension is one of ALLOWED_TYPES.
    2. The file is not empty and at most MAX_FILE_SIZE bytes.
    3. Its first bytes match the type the extension claims.
    On success the upload's content type is replaced by the one of its extension: the browser's word is not kept.
    """
    name = upload.name or ""
    ext = extension_of(name)
    if ext not in ALLOWED_TYPES:
        return _("File «%(name)s»: this type of file is not accepted. Allowed: %(types)s.") % {
            "name": name,
            "types": ALLOWED_LIST,
        }
    size = upload.size or 0
    if size == 0:
        return _("File «%(name)s» is empty.") % {"name": name}
    if size > MAX_FILE_SIZE:
        return _("File «%(name)s» is larger than %(mb)s MB; make it smaller or send a part of it.") % {
            "name": name,
            "mb": MAX_FILE_SIZE // (1024 * 1024),
        }
    content_type, looks_right = ALLOWED_TYPES[ext]
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not looks_right(head):
        return _(
            "File «%(name)s» is not really a .%(ext)s file (its contents do not match its name). "
            "Save it again in this format or choose another file."
        ) % {"name": name, "ext": ext}
    upload.content_type = content_type
    return None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by `check_upload`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = list(data) if isinstance(data, list | tuple) else [data]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                _("At most %(n)s files can be sent at once; you chose %(count)s.")
                % {"n": MAX_FILES, "count": len(files)}
            )
        errors = [reason for f in files if (reason := check_upload(f)) is not None]
        if errors:
            raise forms.ValidationError(errors)
        return files


class AssignmentReplyForm(forms.Form):
    """The one form of an assignment: information (text and files), or "not our competence" with a reason."""

    INFORMATION = "information"
    DECLINE = "decline"

    choice = forms.ChoiceField(
        label=gettext_lazy("Your answer"),
        choices=[
            (INFORMATION, gettext_lazy("Send the information")),
            (DECLINE, pgettext_lazy("the executor's choice", "Not our competence")),
        ],
        initial=INFORMATION,
        widget=forms.RadioSelect,
    )
    information = forms.CharField(
        label=gettext_lazy("What has been done or will be done, and when"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = MultipleFileField(
        label=gettext_lazy("Photos and documents"),
        required=False,
        help_text=gettext_lazy("jpg, png, webp, heic, pdf, doc, docx, xls, xlsx, odt; up to 10 files of 10 MB each."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why this is not your department's competence, and whose it is"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        choice = data.get("choice")
        if choice == self.INFORMATION and not (data.get("information") or "").strip():
            self.add_error("information", _("Write the information for the answer."))
        if choice == self.DECLINE:
            # Files belong to the information: when declining they are neither checked nor kept.
            self.errors.pop("attachments", None)
            data["attachments"] = []
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Say why this is not your department's competence."))
        return data

    @property
    def uploads(self) -> Sequence[UploadedFile]:
        return self.cleaned_data.get("attachments") or []


def department_executors(assignment: Assignment) -> list[User]:
    from otklik.accounts.models import User

    return list(
        User.objects.filter(department_id=assignment.department_id, role__in=DEPARTMENT_ROLES, is_active=True).order_by(
            "last_name", "first_name", "username"
        )
    )


class AssignExecutorForm(forms.Form):
    """A department head gives the assignment to one executor of the department, or to all of them."""

    assignee = forms.TypedChoiceField(
        label=gettext_lazy("Give to an executor"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, executors: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.executors = {user.pk: user for user in executors}
        choices = [("", _("Anyone in the department")), *((u.pk, u.display_name) for u in executors)]
        self.fields["assignee"].choices = choices  # type: ignore[attr-defined]

    @property
    def chosen(self) -> User | None:
        pk = self.cleaned_data.get("assignee")
        return self.executors.get(pk) if pk is not None else None
