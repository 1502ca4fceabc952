"""Pages of the NLP app: the spike list."""

from __future__ import annotations

from django.urls import path

from otklik.nlp import views

urlpatterns = [
    path("spikes/", views.spike_list_view, name="spikes"),
]
