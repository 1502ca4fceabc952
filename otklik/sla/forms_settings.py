"""Forms of the deadline settings pages: policies, the duty rota, the working calendar, delegations.

Errors are put next to the field they concern (the models' own `clean` would raise them for the whole form), so
each check here runs before the model's and removes the wrong value from `cleaned_data` (`add_error` does): the
model then validates the instance without it and does not repeat the message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.accounts.choices import Role
from otklik.accounts.models import User
from otklik.org.forms import StyledFormMixin, with_current
from otklik.org.models import Topic, TopicGroup
from otklik.sla.models import CalendarDay, DutyShift, SlaPolicy, WorkSchedule

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
#: The roles a long-overdue notice may go to (the policy stores them comma-separated).
NOTIFIABLE_ROLES = (Role.DIRECTOR, Role.HEAD, Role.OPERATOR, Role.ADMIN, Role.DEPT_HEAD)
#: A duty shift longer than this is surely a typo in a date.
MAX_SHIFT = dt.timedelta(days=14)


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def _time_widget() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _person(user: User) -> str:
    return f"{user.display_name} ({user.get_role_display()})"  # type: ignore[attr-defined]


def service_people(*current_ids: int | None) -> Any:
    """Active operators and heads of the service (plus the ones already chosen, even if no longer active)."""
    from django.db.models import Q

    ids = [pk for pk in current_ids if pk is not None]
    return User.objects.filter(Q(role__in=[Role.OPERATOR, Role.HEAD], is_active=True) | Q(pk__in=ids)).order_by(
        "last_name", "first_name", "username"
    )


# --- deadline policies ----------------------------------------------------------------------------------------

HOUR_FIELDS = ("first_answer_hours", "assignment_hours", "answer_hours", "long_overdue_hours")


class SlaPolicyForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
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
            "order",
            "is_active",
        ]
        help_texts = {
            "group": gettext_lazy("Empty with an empty topic: the policy applies to every incident."),
            "topic": gettext_lazy("A policy for a topic wins over a policy for its group."),
            "priority": gettext_lazy("★ topics are the priority ones of the rubricator."),
            "order": gettext_lazy("Among equally specific policies the one with the lower number wins."),
            "long_overdue_roles": gettext_lazy(
                "Comma-separated roles: director, head, operator, admin, dept_head (the department's head)."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy: SlaPolicy = self.instance
        self.fields["group"].queryset = TopicGroup.objects.order_by("name")  # type: ignore[attr-defined]
        topics = with_current(Topic.objects.select_related("group"), policy.topic_id).order_by("group__name", "name")
        topic_field = self.fields["topic"]
        topic_field.queryset = topics  # type: ignore[attr-defined]
        grouped: dict[str, list[tuple[int, str]]] = {}
        for topic in topics:
            label = f"★ {topic.name}" if topic.priority else topic.name
            grouped.setdefault(topic.group.name, []).append((topic.pk, label))
        empty = topic_field.empty_label  # type: ignore[attr-defined]
        topic_field.choices = [("", empty), *((name, items) for name, items in grouped.items())]  # type: ignore[attr-defined]
        self.fields["channel"].choices = [("", _("any channel")), *self.fields["channel"].choices[1:]]  # type: ignore[attr-defined]
        for name in HOUR_FIELDS:
            self.fields[name].widget.attrs.update({"step": "0.5", "min": "0"})
        self.style_widgets()

    def clean_warn_at_percent(self) -> int:
        value: int = self.cleaned_data["warn_at_percent"]
        if not 1 <= value <= 99:
            raise forms.ValidationError(_("The warning share must be between 1 and 99 %."))
        return value

    def clean_final_answer_days(self) -> int:
        value: int = self.cleaned_data["final_answer_days"]
        if value < 1:
            raise forms.ValidationError(_("Give at least one working day for the final answer."))
        return value

    def clean_long_overdue_roles(self) -> str:
        raw: str = self.cleaned_data.get("long_overdue_roles") or ""
        roles = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
        unknown = [role for role in roles if role not in NOTIFIABLE_ROLES]
        if unknown:
            raise forms.ValidationError(
                _("Unknown roles: %(unknown)s. Use: %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(NOTIFIABLE_ROLES)}
            )
        if not roles:
            raise forms.ValidationError(_("Name at least one role, e.g. director."))
        return ",".join(dict.fromkeys(roles))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in HOUR_FIELDS:
            value: Decimal | None = data.get(name)
            if value is not None and value <= 0:
                self.add_error(name, _("The time must be more than zero hours."))
        group, topic = data.get("group"), data.get("topic")
        if group is not None and topic is not None and topic.group_id != group.pk:
            self.add_error(
                "topic",
                _("The topic «%(topic)s» belongs to the group «%(group)s»; choose that group or leave it empty.")
                % {"topic": topic.name, "group": topic.group.name},
            )
            data.pop("group", None)  # the instance keeps its pair, so the model does not repeat the error
        return data


# --- the duty rota --------------------------------------------------------------------------------------------


class DutyShiftForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = DutyShift
        fields = ["user", "starts_at", "ends_at", "note"]
        widgets = {"starts_at": _datetime_widget(), "ends_at": _datetime_widget()}
        help_texts = {
            "user": gettext_lazy("Notified when a 24/7 deadline escalates outside working hours."),
            "starts_at": gettext_lazy("The city's time."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user_field = self.fields["user"]
        user_field.queryset = service_people(self.instance.user_id)  # type: ignore[attr-defined]
        user_field.label_from_instance = _person  # type: ignore[attr-defined]
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]  # type: ignore[attr-defined]
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        user, starts, ends = data.get("user"), data.get("starts_at"), data.get("ends_at")
        if starts is None or ends is None:
            return data
        if ends <= starts:
            self.add_error("ends_at", _("A shift must end after it starts."))
            return data
        if ends - starts > MAX_SHIFT:
            self.add_error("ends_at", _("A shift may last at most 14 days; add several shifts for a longer period."))
            return data
        if self.instance.pk is None and ends <= timezone.now():
            self.add_error("ends_at", _("This shift would already be over; give a time in the future."))
            return data
        if user is not None:
            overlapping = DutyShift.objects.filter(user=user, starts_at__lt=ends, ends_at__gt=starts)
            if self.instance.pk:
                overlapping = overlapping.exclude(pk=self.instance.pk)
            other = overlapping.order_by("starts_at").first()
            if other is not None:
                self.add_error(
                    "starts_at",
                    _("%(person)s is already on duty %(from)s – %(until)s; choose another time.")
                    % {
                        "person": user.display_name,
                        "from": timezone.localtime(other.starts_at).strftime("%d.%m.%Y %H:%M"),
                        "until": timezone.localtime(other.ends_at).strftime("%d.%m.%Y %H:%M"),
                    },
                )
        return data


# --- the working calendar -------------------------------------------------------------------------------------


class WorkScheduleForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = WorkSchedule
        fields = ["start", "end", "break_start", "break_end", "shortened_by_minutes"]
        widgets = {
            "start": _time_widget(),
            "end": _time_widget(),
            "break_start": _time_widget(),
            "break_end": _time_widget(),
        }
        help_texts = {
            "break_start": gettext_lazy("Leave both break fields empty for a day without a break."),
            "shortened_by_minutes": gettext_lazy("The day before a public holiday ends this much earlier."),
        }

    TIMES = ("start", "end", "break_start", "break_end")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        self._check_times(data)
        if self.errors:
            # The instance keeps its (valid) times, so the model's own check does not repeat the error.
            for name in self.TIMES:
                data.pop(name, None)
        return data

    def _check_times(self, data: dict[str, Any]) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if start >= end:
            self.add_error("end", _("The working day must end after it starts."))
            return
        b_start, b_end = data.get("break_start"), data.get("break_end")
        if (b_start is None) != (b_end is None):
            field = "break_end" if b_end is None else "break_start"
            self.add_error(field, _("Give both the start and the end of the break, or neither."))
            return
        if b_start is not None and b_end is not None and not start < b_start < b_end < end:
            self.add_error("break_start", _("The break must lie inside the working day and end after it starts."))
            return
        shortened = data.get("shortened_by_minutes")
        if shortened is not None:
            last_begin = b_end if b_end is not None else start
            last_minutes = (end.hour * 60 + end.minute) - (last_begin.hour * 60 + last_begin.minute)
            if shortened >= last_minutes:
                self.add_error(
                    "shortened_by_minutes",
                    _("A shortened day must keep some working time after the break: at most %(n)d minutes.")
                    % {"n": last_minutes - 1},
                )


class CalendarDayForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        help_texts = {
            "kind": gettext_lazy("Wins over the production calendar for this date."),
            "note": gettext_lazy("E.g. the city's day, a decree of the mayor."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date"].input_formats = ["%Y-%m-%d", "%d.%m.%Y"]  # type: ignore[attr-defined]
        self.style_widgets()

    def clean_date(self) -> dt.date:
        value: dt.date = self.cleaned_data["date"]
        if not 2000 <= value.year <= 2100:
            raise forms.ValidationError(_("Give a date between 2000 and 2100."))
        duplicate = CalendarDay.objects.filter(date=value)
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError(
                _("%(date)s is already in the list; edit that entry instead.") % {"date": value.strftime("%d.%m.%Y")}
            )
        return value


class YearForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)

    def year_or_current(self) -> int:
        if self.is_valid() and self.cleaned_data.get("year"):
            return int(self.cleaned_data["year"])
        return timezone.localdate().year


# --- delegations ----------------------------------------------------------------------------------------------


class DelegationForm(StyledFormMixin, forms.Form):
    """The head hands the role over (an administrator also chooses which head); `do_delegate` validates again."""

    head = forms.ModelChoiceField(label=gettext_lazy("Head of the service"), queryset=User.objects.none())
    acting = forms.ModelChoiceField(
        label=gettext_lazy("Acting head"),
        queryset=User.objects.none(),
        help_text=gettext_lazy("Approvals, escalations and extension requests go to this person for the period."),
    )
    starts_at = forms.DateTimeField(label=gettext_lazy("From"), widget=_datetime_widget())
    ends_at = forms.DateTimeField(label=gettext_lazy("Until"), widget=_datetime_widget())
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=255,
        required=False,
        help_text=gettext_lazy("E.g. leave, a business trip (kept in the record)."),
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A head hands over their own role; an administrator chooses whose.
        self.own_head = actor if actor.role == Role.HEAD else None
        if self.own_head is not None:
            del self.fields["head"]
            self.fields["acting"].queryset = service_people().exclude(pk=actor.pk)  # type: ignore[attr-defined]
        else:
            heads = User.objects.filter(role=Role.HEAD, is_active=True).order_by("last_name", "username")
            self.fields["head"].queryset = heads  # type: ignore[attr-defined]
            self.fields["head"].label_from_instance = _person  # type: ignore[attr-defined]
            self.fields["acting"].queryset = service_people()  # type: ignore[attr-defined]
        self.fields["acting"].label_from_instance = _person  # type: ignore[attr-defined]
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]  # type: ignore[attr-defined]
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.own_head is not None:
            data["head"] = self.own_head
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is not None and ends is not None and ends <= starts:
            self.add_error("ends_at", _("The delegation must end after it starts."))
        head, acting = data.get("head"), data.get("acting")
        if head is not None and acting is not None and head.pk == acting.pk:
            self.add_error("acting", _("Choose someone other than the head."))
        return data
