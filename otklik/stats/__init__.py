"""Figures for the director and the head of the service: the dashboard and `GET /api/v1/stats` (no models)."""
