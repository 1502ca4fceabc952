"""API URLs. Every path answers with and without a trailing slash, without a redirect (`APPEND_SLASH = False`)."""

from __future__ import annotations

from django.urls import include, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from otklik.api import views, views_stats


class OptionalSlashRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("posts", views.PostViewSet, basename="post")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("answers", views.AnswerViewSet, basename="answer")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("attachments", views.AttachmentViewSet, basename="attachment")
router.register("notifications", views.NotificationViewSet, basename="notification")

api_v1 = [
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^auth/logout-all/?$", views.LogoutAllView.as_view(), name="logout-all"),
    re_path(r"^auth/me/?$", views.MeView.as_view(), name="me"),
    # Before the router: its `answers/<pk>` route would take «check» for an id.
    re_path(r"^answers/check/?$", views.AnswerCheckView.as_view(), name="answer-check"),
    re_path(r"^stats/?$", views_stats.StatsView.as_view(), name="stats"),
    *router.urls,
]

urlpatterns = [
    re_path(r"^api/v1/", include((api_v1, "api"))),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Last: whatever else is asked under /api/ gets the API's JSON 404, not the site's HTML page.
    re_path(r"^api/", views.not_found, name="not-found"),
]
