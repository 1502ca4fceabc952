from __future__ import annotations

from django.contrib import admin

from otklik.satisfaction.models import FollowedThread, FollowUp, Survey


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("incident", "verdict", "confidence", "acted", "created_at")
    list_filter = ("verdict", "acted")
    raw_id_fields = ("incident", "answer", "post")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("incident", "channel", "status", "result", "scheduled_at", "sent_at", "answered_at")
    list_filter = ("status", "result", "channel")
    raw_id_fields = ("incident", "answer", "publication")


@admin.register(FollowedThread)
class FollowedThreadAdmin(admin.ModelAdmin):
    list_display = ("incident", "thread_key", "author_id", "followed_from", "followed_until")
    raw_id_fields = ("incident", "answer", "publication")
