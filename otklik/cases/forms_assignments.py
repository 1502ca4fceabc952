"""Forms of a department's assignment page: the one answer form (information or "not our competence") and the
department head's "give to an executor".

Attachments are checked here, before any service is called, so that a refused file leaves nothing behind: the
extension must be one of ALLOWED_TYPES, the size at most MAX_FILE_SIZE, and the first bytes must look like the type
the extension claims (a renamed program or a mislabelled file is refused with the file's name in the message); the
checks are otklik.core.uploads, shared with the API and the other upload points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from otklik.accounts.choices import DEPARTMENT_ROLES
from otklik.core import uploads

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from otklik.accounts.models import User
    from otklik.cases.models import Assignment

# The checks themselves are shared by every upload point: otklik.core.uploads.
MAX_FILE_SIZE = uploads.ATTACHMENT.max_bytes
MAX_FILES = 10
ALLOWED_TYPES = uploads.ATTACHMENT.extensions
ALLOWED_LIST = uploads.ATTACHMENT.listed
ACCEPT_ATTRIBUTE = uploads.ATTACHMENT.accept
extension_of = uploads.extension_of


def check_upload(upload: UploadedFile) -> str | None:
    """The reason `upload` is refused as an attachment (a Russian sentence naming the file), or None.

    The extension, the size (settings.OTKLIK_UPLOAD_MAX_MB) and the first bytes are checked by
    otklik.core.uploads; on success the name is sanitized and the content type is the one of the extension.
    """
    return uploads.upload_problem(upload, uploads.ATTACHMENT)


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
