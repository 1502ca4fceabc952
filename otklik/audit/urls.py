from __future__ import annotations

from django.urls import path

from otklik.audit import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit"),
]
