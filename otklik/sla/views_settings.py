"""The deadline settings pages of the head of the service: policies, the duty rota, the working calendar,
delegations of the head's role.

Reference data (policies, shifts, calendar days, the schedule) is edited directly and every change is recorded in
the admin log, as on the other settings pages (otklik.org.forms.save_logged). Delegations are lifecycle records:
they go through `do_delegate` / `do_revoke_delegation` and are revoked, never deleted.

A change of the calendar or the schedule empties this process's cached calendar at once (otklik.sla.signals) and
again after the commit, so a request in between cannot keep the old one; other processes re-read it within
`otklik.core.worktime.CALENDAR_TTL` seconds. Policies are cached the same way (otklik.sla.clocks.reset_policies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.accounts.choices import Role
from otklik.core.decorators import head_required
from otklik.core.errors import DomainError
from otklik.core.htmx import render_page
from otklik.core.worktime import WorkCalendar, default_calendar, get_calendar, reset_calendar
from otklik.core.xlsx import Sheet, absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.org.forms import changed_fields_message, log_change, save_logged
from otklik.org.views import active_param, filter_active, paginate, search
from otklik.sla.clocks import reset_policies
from otklik.sla.forms_settings import (
    CalendarDayForm,
    DelegationForm,
    DutyShiftForm,
    SlaPolicyForm,
    WorkScheduleForm,
    YearForm,
)
from otklik.sla.models import CalendarDay, CalendarDayKind, Delegation, DutyShift, SlaPolicy, WorkSchedule
from otklik.sla.services import acting_heads, do_delegate, do_revoke_delegation

if TYPE_CHECKING:
    from otklik.accounts.models import User

RECENT_CHANGES = 10


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _data(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _safe_next(request: HttpRequest, default: str) -> str:
    """Only a local settings path is followed (`next` keeps a list's filters)."""
    target = request.POST.get("next", "")
    return target if target.startswith("/settings/sla/") and "//" not in target else default


def _log_deletion(actor: User, obj: models.Model) -> None:
    LogEntry.objects.log_actions(actor.pk, [obj], DELETION, single_object=True)


def _calendar_changed() -> None:
    """Due times must use the new calendar: drop the cached one now and once the change is committed."""
    reset_calendar()
    transaction.on_commit(reset_calendar)


def _policies_changed() -> None:
    transaction.on_commit(reset_policies)


def year_summary(calendar: WorkCalendar, year: int) -> dict[str, Any]:
    """Working days and hours of a year on `calendar` (a shortened day counts with its shorter hours)."""
    day = dt.date(year, 1, 1)
    days = 0
    hours = 0.0
    while day.year == year:
        worked = calendar.working_hours(day)
        if worked > 0:
            days += 1
            hours += worked
        day += dt.timedelta(days=1)
    return {"days": days, "hours": round(hours, 2)}


# --- overview -------------------------------------------------------------------------------------------------


@head_required
def sla_index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    year = timezone.localdate().year
    types = ContentType.objects.get_for_models(SlaPolicy, DutyShift, CalendarDay, WorkSchedule).values()
    recent = (
        LogEntry.objects.filter(content_type__in=types)
        .select_related("user", "content_type")
        .order_by("-action_time")[:RECENT_CHANGES]
    )
    context = {
        "section": "index",
        "recent": recent,
        "counts": {
            "policies": SlaPolicy.objects.filter(is_active=True).count(),
            "shifts": DutyShift.objects.filter(ends_at__gt=now).count(),
            "days": CalendarDay.objects.filter(date__year=year).count(),
            "delegations": Delegation.objects.filter(revoked_at__isnull=True, ends_at__gt=now).count(),
        },
        "on_duty": DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now).select_related("user"),
        "acting": acting_heads(now),
        "schedule": WorkSchedule.current(),
        "year": year,
        "summary": year_summary(get_calendar(), year),
    }
    return render(request, "sla/settings_index.html", context)


# --- deadline policies ----------------------------------------------------------------------------------------


@head_required
def policy_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    active = active_param(request)
    policies = search(filter_active(SlaPolicy.objects.all(), active), q, ["name", "group__name", "topic__name"])
    policies = policies.select_related("group", "topic", "topic__group").order_by("order", "pk")
    if wants_xlsx(request):
        return export_policies(request, policies)
    context = {"section": "policies", "page": paginate(request, policies), "q": q, "active": active}
    return render_page(request, "sla/settings_policy_list.html", context, partial="results")


def export_policies(request: HttpRequest, policies: models.QuerySet[SlaPolicy]) -> HttpResponse:
    names = [
        "order",
        "name",
        "group",
        "topic",
        "priority",
        "channel",
        "first_answer_hours",
        "assignment_hours",
        "answer_hours",
        "final_answer_days",
        "calendar_time",
        "warn_at_percent",
        "long_overdue_hours",
        "long_overdue_roles",
        "is_active",
    ]
    headers = ["ID", *(field_header(SlaPolicy, name) for name in names), _("Link")]

    def lines() -> Iterator[list[Any]]:
        for p in policies.iterator(chunk_size=1000):
            group = p.group or (p.topic.group if p.topic else None)
            yield [
                p.pk,
                p.order,
                p.name,
                group.name if group else "",
                p.topic.name if p.topic else "",
                p.get_priority_display(),
                p.get_channel_display() if p.channel else "",
                p.first_answer_hours,
                p.assignment_hours,
                p.answer_hours,
                p.final_answer_days,
                p.calendar_time,
                p.warn_at_percent,
                p.long_overdue_hours,
                p.long_overdue_roles,
                p.is_active,
                absolute(request, f"/settings/sla/policies/{p.pk}/"),
            ]

    return xlsx_response(export_filename("sla-policies"), [(_("Deadline policies"), headers, lines())])


def _policy_form_page(request: HttpRequest, policy: SlaPolicy | None) -> HttpResponse:
    form = SlaPolicyForm(_data(request), instance=policy)
    if request.method == "POST" and form.is_valid():
        saved = save_logged(form, _user(request))
        _policies_changed()
        messages.success(request, _("The deadline policy «%(name)s» is saved.") % {"name": saved.name})
        return redirect("settings-sla-policies")
    return render(request, "sla/settings_policy_form.html", {"section": "policies", "form": form, "policy": policy})


@head_required
def policy_create(request: HttpRequest) -> HttpResponse:
    return _policy_form_page(request, None)


@head_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _policy_form_page(request, get_object_or_404(SlaPolicy, pk=pk))


@head_required
@require_POST
def policy_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate or activate a policy (never deleted: clocks refer to it)."""
    policy = get_object_or_404(SlaPolicy, pk=pk)
    policy.is_active = not policy.is_active
    policy.save(update_fields=["is_active"])
    log_change(_user(request), policy, added=False, message=changed_fields_message(SlaPolicy, "is_active"))
    _policies_changed()
    if policy.is_active:
        messages.success(request, _("The deadline policy «%(name)s» is active again.") % {"name": policy.name})
    else:
        messages.success(request, _("The deadline policy «%(name)s» is deactivated.") % {"name": policy.name})
    return redirect(_safe_next(request, "/settings/sla/policies/"))


# --- the duty rota --------------------------------------------------------------------------------------------


@head_required
def duty_list(request: HttpRequest) -> HttpResponse:
    """Current and upcoming shifts (and the last week's, greyed, for reference)."""
    now = timezone.now()
    show_past = request.GET.get("past") == "1"
    shifts = DutyShift.objects.select_related("user").order_by("starts_at", "pk")
    upcoming = shifts.filter(ends_at__gt=now)
    past = shifts.filter(ends_at__lte=now, ends_at__gt=now - dt.timedelta(days=30)).order_by("-starts_at")
    if wants_xlsx(request):
        return export_shifts(upcoming, past if show_past else None)
    context = {
        "section": "duty",
        "now": now,
        "shifts": upcoming,
        "past": past if show_past else None,
        "show_past": show_past,
    }
    return render(request, "sla/settings_duty_list.html", context)


def export_shifts(upcoming: models.QuerySet[DutyShift], past: models.QuerySet[DutyShift] | None) -> HttpResponse:
    """Current and upcoming shifts; the last 30 days' on a second sheet when the page shows them."""
    headers = [
        "ID",
        field_header(DutyShift, "user"),
        field_header(DutyShift, "starts_at"),
        field_header(DutyShift, "ends_at"),
        (field_header(DutyShift, "note"), 40),
    ]

    def lines(shifts: models.QuerySet[DutyShift]) -> Iterator[list[Any]]:
        for shift in shifts.iterator(chunk_size=1000):
            yield [shift.pk, shift.user.display_name, shift.starts_at, shift.ends_at, shift.note]

    sheets: list[Sheet] = [(_("Current and upcoming"), headers, lines(upcoming))]
    if past is not None:
        sheets.append((_("Past 30 days"), headers, lines(past)))
    return xlsx_response(export_filename("duty-rota"), sheets)


@head_required
def duty_create(request: HttpRequest) -> HttpResponse:
    form = DutyShiftForm(_data(request))
    if request.method == "POST" and form.is_valid():
        shift = save_logged(form, _user(request))
        messages.success(request, _("The shift of %(person)s is added.") % {"person": shift.user.display_name})
        return redirect("settings-sla-duty")
    return render(request, "sla/settings_duty_form.html", {"section": "duty", "form": form})


@head_required
@require_POST
def duty_end(request: HttpRequest, pk: int) -> HttpResponse:
    """A shift not started yet is deleted; a shift under way ends now; a finished one stays as it was."""
    shift = get_object_or_404(DutyShift, pk=pk)
    now = timezone.now()
    actor = _user(request)
    with transaction.atomic():
        if shift.starts_at > now:
            _log_deletion(actor, shift)
            shift.delete()
            messages.success(request, _("The shift is deleted."))
        elif shift.ends_at > now:
            shift.ends_at = now
            shift.save(update_fields=["ends_at"])
            log_change(actor, shift, added=False, message=changed_fields_message(DutyShift, "ends_at"))
            messages.success(request, _("The shift is ended now."))
        else:
            messages.info(request, _("The shift is already over."))
    return redirect("settings-sla-duty")


# --- the working calendar -------------------------------------------------------------------------------------


@head_required
def calendar_view(request: HttpRequest) -> HttpResponse:
    year = YearForm(request.GET).year_or_current()
    builtin = default_calendar()
    current = get_calendar()
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    for entry in days:
        # What the production calendar says of the day: an entry equal to it changes nothing.
        entry.builtin_label = CalendarDayKind(builtin.day(entry.date)).label  # type: ignore[attr-defined]
        entry.same_as_builtin = builtin.day(entry.date) == entry.kind  # type: ignore[attr-defined]
    context = {
        "section": "calendar",
        "year": year,
        "years": range(year - 2, year + 3),
        "days": days,
        "schedule": WorkSchedule.current(),
        "summary": year_summary(current, year),
        "builtin_summary": year_summary(builtin, year),
    }
    return render(request, "sla/settings_calendar.html", context)


def _calendar_url(year: int) -> str:
    return f"/settings/sla/calendar/?year={year}"


def _day_form_page(request: HttpRequest, entry: CalendarDay | None) -> HttpResponse:
    initial = {}
    if entry is None and request.GET.get("date"):
        initial["date"] = request.GET["date"]
    form = CalendarDayForm(_data(request), instance=entry, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = save_logged(form, _user(request))
        _calendar_changed()
        messages.success(request, _("%(date)s is saved.") % {"date": saved.date.strftime("%d.%m.%Y")})
        return redirect(_calendar_url(saved.date.year))
    year = entry.date.year if entry else timezone.localdate().year
    return render(
        request, "sla/settings_day_form.html", {"section": "calendar", "form": form, "entry": entry, "year": year}
    )


@head_required
def day_create(request: HttpRequest) -> HttpResponse:
    return _day_form_page(request, None)


@head_required
def day_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _day_form_page(request, get_object_or_404(CalendarDay, pk=pk))


@head_required
@require_POST
def day_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(CalendarDay, pk=pk)
    year = entry.date.year
    with transaction.atomic():
        _log_deletion(_user(request), entry)
        entry.delete()
        _calendar_changed()
    messages.success(
        request,
        _("%(date)s follows the production calendar again.") % {"date": entry.date.strftime("%d.%m.%Y")},
    )
    return redirect(_calendar_url(year))


@head_required
def schedule_edit(request: HttpRequest) -> HttpResponse:
    row = WorkSchedule.objects.order_by("pk").first()
    form = WorkScheduleForm(_data(request), instance=row)
    if request.method == "POST" and form.is_valid():
        save_logged(form, _user(request))
        _calendar_changed()
        messages.success(request, _("The working schedule is saved."))
        return redirect("settings-sla-calendar")
    return render(request, "sla/settings_schedule_form.html", {"section": "calendar", "form": form})


# --- delegations ----------------------------------------------------------------------------------------------


@head_required
def delegation_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    delegations = Delegation.objects.select_related("head", "acting", "created_by", "revoked_by")
    current = delegations.filter(revoked_at__isnull=True, ends_at__gt=now).order_by("starts_at", "pk")
    past = delegations.filter(Q(revoked_at__isnull=False) | Q(ends_at__lte=now)).order_by("-starts_at", "-pk")
    if wants_xlsx(request):
        return export_delegations(current, past)
    past = past[:50]
    user = _user(request)
    context = {
        "section": "delegations",
        "now": now,
        "current": current,
        "past": past,
        "acting": acting_heads(now),
        "may_revoke_all": user.role == Role.ADMIN or user.is_superuser,
    }
    return render(request, "sla/settings_delegation_list.html", context)


def export_delegations(current: models.QuerySet[Delegation], past: models.QuerySet[Delegation]) -> HttpResponse:
    """Current and upcoming delegations, and every past or revoked one (the page shows the latest 50)."""
    headers = [
        "ID",
        field_header(Delegation, "head"),
        field_header(Delegation, "acting"),
        field_header(Delegation, "starts_at"),
        field_header(Delegation, "ends_at"),
        (field_header(Delegation, "reason"), 40),
        field_header(Delegation, "created_by"),
        field_header(Delegation, "created_at"),
        field_header(Delegation, "revoked_at"),
        field_header(Delegation, "revoked_by"),
    ]

    def name(user: Any) -> str:
        return user.display_name if user else ""

    def lines(delegations: models.QuerySet[Delegation]) -> Iterator[list[Any]]:
        for d in delegations.iterator(chunk_size=1000):
            yield [
                d.pk,
                name(d.head),
                name(d.acting),
                d.starts_at,
                d.ends_at,
                d.reason,
                name(d.created_by),
                d.created_at,
                d.revoked_at,
                name(d.revoked_by),
            ]

    return xlsx_response(
        export_filename("delegations"),
        [(_("Current and upcoming"), headers, lines(current)), (_("Past and revoked"), headers, lines(past))],
    )


@head_required
def delegation_create(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    form = DelegationForm(_data(request), actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            delegation = do_delegate(
                head=data["head"],
                acting=data["acting"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                actor=actor,
                reason=data.get("reason", ""),
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("%(person)s acts as the head of the service from %(from)s until %(until)s.")
                % {
                    "person": delegation.acting.display_name,
                    "from": timezone.localtime(delegation.starts_at).strftime("%d.%m.%Y %H:%M"),
                    "until": timezone.localtime(delegation.ends_at).strftime("%d.%m.%Y %H:%M"),
                },
            )
            return redirect("settings-sla-delegations")
    return render(request, "sla/settings_delegation_form.html", {"section": "delegations", "form": form})


@head_required
@require_POST
def delegation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    delegation = get_object_or_404(Delegation, pk=pk)
    try:
        do_revoke_delegation(delegation, actor=_user(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The delegation is revoked."))
    return redirect("settings-sla-delegations")
