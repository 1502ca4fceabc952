"""The incident card: the page and one POST endpoint per action (otklik.cases.views.card)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.cases.views import card

urlpatterns: list[URLPattern | URLResolver] = [
    path("incidents/<int:pk>/", card.card, name="incident-card"),
    path("incidents/<int:pk>/merge-preview/", card.merge_preview, name="incident-merge-preview"),
    path("incidents/<int:pk>/take/", card.take, name="incident-take"),
    path("incidents/<int:pk>/classify/", card.classify, name="incident-classify"),
    path("incidents/<int:pk>/details/", card.update_details, name="incident-details"),
    path("incidents/<int:pk>/no-answer/", card.mark_no_answer, name="incident-no-answer"),
    path("incidents/<int:pk>/restore/", card.restore, name="incident-restore"),
    path("incidents/<int:pk>/wait/", card.wait_for_citizen, name="incident-wait"),
    path("incidents/<int:pk>/stop-waiting/", card.stop_waiting, name="incident-stop-waiting"),
    path("incidents/<int:pk>/merge/", card.merge, name="incident-merge"),
    path("incidents/<int:pk>/split/", card.split, name="incident-split"),
    path("incidents/<int:pk>/unmerge/", card.unmerge, name="incident-unmerge"),
    path("incidents/<int:pk>/route/", card.route, name="incident-route"),
    path(
        "incidents/<int:pk>/assignments/<int:assignment_pk>/accept/",
        card.accept_information,
        name="incident-accept-information",
    ),
    path(
        "incidents/<int:pk>/assignments/<int:assignment_pk>/rework/",
        card.return_for_rework,
        name="incident-return-for-rework",
    ),
    path("incidents/<int:pk>/answers/", card.new_answer, name="incident-new-answer"),
    path("incidents/<int:pk>/answers/<int:answer_pk>/", card.update_answer, name="incident-update-answer"),
    path("incidents/<int:pk>/answers/<int:answer_pk>/approve/", card.approve_answer, name="incident-approve-answer"),
    path("incidents/<int:pk>/answers/<int:answer_pk>/reject/", card.reject_answer, name="incident-reject-answer"),
    path("incidents/<int:pk>/close/", card.close, name="incident-close"),
    path("incidents/<int:pk>/reopen/", card.reopen, name="incident-reopen"),
]
