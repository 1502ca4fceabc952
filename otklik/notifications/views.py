from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.notifications.models import Notification
from otklik.notifications.selectors import notifications_of
from otklik.notifications.services import do_mark_read


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    if wants_xlsx(request):
        return export_notifications(request)
    page = Paginator(notifications_of(request.user), 30).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    return render(request, "notifications/list.html", {"page": page})


def export_notifications(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, all of them, as XLSX."""
    headers = [
        field_header(Notification, "created_at"),
        field_header(Notification, "kind"),
        (field_header(Notification, "title"), 50),
        (field_header(Notification, "body"), 60),
        field_header(Notification, "read_at"),
        _("Link"),
    ]

    def lines() -> Iterator[list[Any]]:
        for n in notifications_of(request.user).iterator(chunk_size=1000):  # type: ignore[arg-type]
            yield [
                n.created_at,
                n.get_kind_display(),
                n.title,
                n.body,
                n.read_at,
                absolute(request, n.url) if n.url.startswith("/") else n.url,
            ]

    return xlsx_response(export_filename("notifications"), [(_("Notifications"), headers, lines())])


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points."""
    notification = notifications_of(request.user).filter(pk=pk).first()  # type: ignore[arg-type]
    if notification is None:
        return redirect("/notifications/")
    do_mark_read(request.user, notification_ids=[pk])  # type: ignore[arg-type]
    return redirect(notification.url or "/notifications/")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    do_mark_read(request.user)  # type: ignore[arg-type]
    return redirect("/notifications/")
