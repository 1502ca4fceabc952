"""The head of the service's boards."""

from __future__ import annotations

from django.urls import path

from otklik.cases.views import board

urlpatterns = [
    path("board/overdue/", board.overdue_board, name="board-overdue"),
]
