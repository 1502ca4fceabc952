"""Forms of the users page of the head of the service: a user's names, role, department and password."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.accounts import lockout
from otklik.accounts.choices import Role
from otklik.accounts.models import User
from otklik.org.forms import StyledFormMixin, with_current
from otklik.org.models import Department

# No 0/O, 1/l/I: a generated password is read off the screen and typed by hand.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (an alphabet)
PASSWORD_LENGTH = 12


def generate_password() -> str:
    return get_random_string(PASSWORD_LENGTH, allowed_chars=PASSWORD_ALPHABET)


def is_administrator(user: User) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


def can_manage(actor: User, target: User) -> bool:
    """The head manages the service's and departments' users; administrators are managed by administrators only."""
    if target.is_superuser and not actor.is_superuser:
        return False
    return not (target.role == Role.ADMIN and not is_administrator(actor))


class UserForm(StyledFormMixin, forms.ModelForm):
    """Create or edit a user; a new user gets a generated password (shown once) or one typed here."""

    GENERATE = "generate"
    SET = "set"

    class Meta:
        model = User
        fields = ["username", "last_name", "first_name", "email", "phone", "role", "department", "is_active"]
        help_texts = {
            "username": gettext_lazy("Used to log in: Latin letters, digits and @/./+/-/_ only."),
            "is_active": gettext_lazy("An inactive user cannot log in; his history stays."),
        }

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.is_new = self.instance.pk is None
        self.fields["department"].queryset = with_current(  # type: ignore[attr-defined]
            Department.objects.all(), self.instance.department_id
        )
        self.fields["department"].help_text = _("Required for executors and department heads.")
        if not is_administrator(actor):
            role_field = self.fields["role"]
            role_field.choices = [c for c in role_field.choices if c[0] != Role.ADMIN]  # type: ignore[attr-defined]
        if self.is_new:
            self.fields["password_mode"] = forms.ChoiceField(
                label=_("Password"),
                choices=[
                    (self.GENERATE, _("Generate a password and show it once")),
                    (self.SET, _("Set the password now")),
                ],
                initial=self.GENERATE,
                widget=forms.RadioSelect,
            )
            self.fields["password1"] = forms.CharField(
                label=_("New password"), required=False, strip=False, widget=forms.PasswordInput(render_value=False)
            )
            self.fields["password2"] = forms.CharField(
                label=_("The password again"), required=False, strip=False, widget=forms.PasswordInput
            )
        self.style_widgets()

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role == Role.ADMIN and not is_administrator(self.actor):
            raise forms.ValidationError(_("Only an administrator can give the administrator role."))
        return role

    def clean_is_active(self) -> bool:
        active = self.cleaned_data.get("is_active", False)
        if not active and self.instance.pk == self.actor.pk:
            raise forms.ValidationError(_("You cannot deactivate yourself: ask another head or an administrator."))
        return active

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.is_new and data.get("password_mode") == self.SET:
            first, second = data.get("password1") or "", data.get("password2") or ""
            if not first:
                self.add_error("password1", _("Type the password, or choose to generate one."))
            elif first != second:
                self.add_error("password2", _("The two passwords differ."))
            else:
                candidate = User(username=data.get("username") or "", email=data.get("email") or "")
                try:
                    password_validation.validate_password(first, candidate)
                except forms.ValidationError as error:
                    self.add_error("password1", error)
        return data

    def new_password(self) -> str:
        """For a new user: the password to set (typed, or generated now)."""
        if self.cleaned_data.get("password_mode") == self.SET:
            return self.cleaned_data["password1"]
        return generate_password()


class LockoutMessageMixin:
    """A login refused by a lock (otklik.accounts.backends) says so and until when, instead of "wrong password"."""

    request: Any

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            lock = getattr(self.request, lockout.REQUEST_ATTRIBUTE, None) if self.request is not None else None
            if lock is not None:
                raise forms.ValidationError(lockout.lockout_message(lock), code="locked") from None
            raise


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    """The login page's form."""


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The Django admin's login form."""
