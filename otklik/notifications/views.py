from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from otklik.notifications.selectors import notifications_of
from otklik.notifications.services import do_mark_read


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_of(request.user), 30).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    return render(request, "notifications/list.html", {"page": page})


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
