from __future__ import annotations

from django.contrib import admin

from otklik.stats.models import ReportDelivery, ReportSubscription


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("pk", "user", "email", "format", "is_active", "created_at")
    list_filter = ("format", "is_active")
    raw_id_fields = ("user", "created_by")


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(admin.ModelAdmin):
    list_display = ("pk", "subscription", "week_start", "status", "address", "sent_at")
    list_filter = ("status",)
    raw_id_fields = ("subscription",)
