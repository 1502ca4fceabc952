from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from otklik.accounts.models import User


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
