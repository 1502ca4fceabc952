"""«Мои поручения»: the pages of executors and department heads."""

from __future__ import annotations

from django.urls import path

from otklik.cases.views import assignments

urlpatterns = [
    path("assignments/", assignments.assignment_list, name="assignments"),
    path("assignments/<int:pk>/", assignments.assignment_detail, name="assignment-detail"),
    path("assignments/<int:pk>/assign/", assignments.assignment_assign, name="assignment-assign"),
]
