from __future__ import annotations

from django.contrib import admin

from otklik.org.models import Building, Department, Landmark, RoutingRule, Street, Territory, Topic, TopicGroup


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "kind", "parent", "email", "phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name", "email")
    autocomplete_fields = ("parent",)


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "keywords")


class TopicInline(admin.TabularInline):
    model = Topic
    extra = 0
    fields = ("name", "priority", "is_active")


@admin.register(TopicGroup)
class TopicGroupAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    inlines = [TopicInline]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "group", "priority", "is_active")
    list_filter = ("group", "priority", "is_active")
    search_fields = ("name", "keywords")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "group", "topic", "territory", "lead", "due_hours", "order", "is_active")
    list_filter = ("is_active", "group", "lead")
    search_fields = ("name", "keywords", "topic__name", "group__name")
    autocomplete_fields = ("group", "topic", "territory", "lead", "co_executors")
    list_editable = ("order", "is_active")


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("name", "street_type", "territory", "company")
    list_filter = ("street_type", "territory")
    search_fields = ("name", "aliases")


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("street", "house", "territory", "company")
    list_filter = ("territory", "company")
    search_fields = ("street__name", "house")
    autocomplete_fields = ("street",)


@admin.register(Landmark)
class LandmarkAdmin(admin.ModelAdmin):
    list_display = ("name", "building", "territory")
    search_fields = ("name", "aliases")
    autocomplete_fields = ("building",)
