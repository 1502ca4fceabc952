"""`{% load satisfaction %}{% satisfaction_card incident %}`: the satisfaction block of the incident card."""

from __future__ import annotations

from typing import Any

from django import template

from otklik.satisfaction.stats import incident_satisfaction

register = template.Library()


@register.inclusion_tag("satisfaction/_card.html")
def satisfaction_card(incident: Any) -> dict[str, Any]:
    return {"incident": incident, "satisfaction": incident_satisfaction(incident)}
