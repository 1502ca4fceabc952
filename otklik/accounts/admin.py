from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from otklik.accounts.forms import AdminLoginForm
from otklik.accounts.lockout import do_clear_lockout
from otklik.accounts.models import Lockout, LoginFailure, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "department", "email", "is_active")
    list_filter = ("role", "department", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email")
    autocomplete_fields = ("department",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Role in Otklik"), {"fields": ("role", "department", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role in Otklik"), {"fields": ("role", "department", "email", "first_name", "last_name")}),
    )


# The admin's own login page counts failures and shows a lock like the login page.
admin.site.login_form = AdminLoginForm


@admin.register(Lockout)
class LockoutAdmin(admin.ModelAdmin):
    """Who is locked out of logging in; "Unlock" lifts a lock and forgets its failed attempts."""

    list_display = ("__str__", "username", "ip", "failures", "created_at", "locked_until", "active", "cleared_by")
    list_filter = ("created_at",)
    search_fields = ("username", "ip")
    date_hierarchy = "created_at"
    readonly_fields = ("username", "ip", "failures", "created_at", "locked_until", "cleared_at", "cleared_by")
    actions = ["unlock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj: Lockout) -> bool:
        return obj.is_active

    @admin.action(description=_("Unlock the selected"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[Lockout]) -> None:
        unlocked = sum(do_clear_lockout(lock, actor=request.user) for lock in queryset)  # type: ignore[arg-type]
        self.message_user(request, _("Unlocked: %(n)s.") % {"n": unlocked}, messages.SUCCESS)


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Failed logins of the last day (older ones are deleted)."""

    list_display = ("username", "ip", "created_at")
    search_fields = ("username", "ip")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
