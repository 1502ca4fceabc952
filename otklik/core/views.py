from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts where its work is: the service in the inbox, departments in their assignments, the director
    on the dashboard."""
    user = request.user
    if user.is_department_user:  # type: ignore[union-attr]
        return redirect("/assignments/")
    if user.is_director:  # type: ignore[union-attr]
        return redirect("/dashboard/")
    return redirect("/inbox/")
