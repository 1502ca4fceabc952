"""What the API reads and writes. Output shapes are the contract of issue 2; inputs reject unknown fields."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from otklik.accounts.models import User
from otklik.answers.choices import AnswerKind
from otklik.answers.models import Answer
from otklik.cases.choices import IncidentStatus, NoAnswerReason, ReworkCriterion
from otklik.cases.models import Assignment, Attachment, Incident
from otklik.core import uploads
from otklik.intake.choices import Channel
from otklik.intake.models import Post
from otklik.notifications.models import Notification
from otklik.org.models import Department, Topic

STAR = "★"
# Sent by the Django forms of the UI along with the fields; never an unknown field.
IGNORED_INPUT_KEYS = frozenset({"csrfmiddlewaretoken"})
# A sender's clock may run a little ahead of ours.
POSTED_AT_TOLERANCE = dt.timedelta(minutes=10)
# Older is a sender's bug (an empty date sent as the Unix epoch, say), not a post from a social network.
POSTED_AT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# Ids are 64-bit: a larger number cannot name anything (and SQLite cannot even compare it).
MAX_ID = 2**63 - 1
# Attachments sent at once (as on the assignment page).
MAX_FILES = 10
# Lazy: URLField builds its validator with this message at import time; it is rendered in the request's language.
INVALID_LINK = gettext_lazy("Not a valid link: give a full address such as https://vk.com/wall-1_100.")


def without_star(name: str) -> str:
    return name.strip().removeprefix(STAR).strip()


def find_topic(name: str) -> Topic | None:
    """A topic of the rubricator by its name, with or without the leading ★."""
    name = without_star(name)
    if not name:
        return None
    return Topic.objects.select_related("group").filter(name=name, is_active=True).first()


def city_datetime(value: Any) -> dt.datetime:
    """ISO 8601 → an aware datetime; a time without an offset is the city's time (`settings.TIME_ZONE`).

    Raises ValueError when `value` is not an ISO 8601 date and time.
    """
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = parse_datetime(value.strip())  # raises ValueError for a well-formed but impossible date
    if parsed is None:
        raise ValueError(value)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, ZoneInfo(settings.TIME_ZONE))
    try:
        parsed.astimezone(dt.UTC)  # the database stores UTC: year 1 or 9999 with an offset does not fit
    except OverflowError:
        raise ValueError(value) from None
    return parsed


def optional_text_messages() -> dict[str, Any]:
    # Lazy: fields are declared at import time, the message is rendered in the request's language.
    return {
        "invalid": gettext_lazy("Must be a string."),
        "max_length": gettext_lazy("Too long: at most {max_length} characters."),
    }


def text_messages(required: Any = "") -> dict[str, Any]:
    required = required or gettext_lazy("This field is required.")
    return {"required": required, "null": required, "blank": required, **optional_text_messages()}


@extend_schema_field(OpenApiTypes.DATETIME)
class CityDateTimeField(serializers.Field):
    """An ISO 8601 date and time; without an offset it is the city's time."""

    def __init__(self, *, required_message: str = "", **kwargs: Any) -> None:
        self.required_message = required_message
        super().__init__(**kwargs)

    def fail_required(self) -> None:
        raise serializers.ValidationError(
            self.required_message or _("Give a date and time in ISO 8601, e.g. 2025-03-01T14:30:00+05:00.")
        )

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is serializers.empty and self.required:
            self.fail_required()
        if (data is None or data == "") and not self.allow_null:
            self.fail_required()
        return super().validate_empty_values(None if data == "" else data)

    def to_internal_value(self, data: Any) -> dt.datetime:
        try:
            return city_datetime(data)
        except ValueError:
            raise serializers.ValidationError(
                _("«%(value)s» is not a date and time in ISO 8601, e.g. 2025-03-01T14:30:00+05:00.") % {"value": data}
            ) from None

    def to_representation(self, value: dt.datetime) -> str:
        return timezone.localtime(value).isoformat()


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, naming each one: a typo in an integration shows at once."""

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, list[str]] = {}
        if hasattr(data, "keys"):
            allowed = [name for name, field in self.fields.items() if not field.read_only]
            for key in data:
                if key not in self.fields and key not in IGNORED_INPUT_KEYS:
                    errors[str(key)] = [
                        _("Unknown field. Allowed fields: %(fields)s.") % {"fields": ", ".join(allowed)}
                    ]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if errors and isinstance(exc.detail, dict):
                exc.detail.update(
                    {k: [serializers.ErrorDetail(m, code="unknown") for m in v] for k, v in errors.items()}
                )
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


# --- output ---------------------------------------------------------------------------------------------


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PostSerializer(serializers.ModelSerializer):
    source = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.source
        source="source.channel", help_text="Channel code: " + ", ".join(Channel.values)
    )
    author = serializers.CharField(source="author_name")

    class Meta:
        model = Post
        fields = ["id", "source", "external_id", "text", "author", "url", "posted_at"]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Download link (needs the same authentication).")

    class Meta:
        model = Attachment
        fields = ["id", "name", "url", "size"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Attachment) -> str:
        path = reverse("api:attachment-detail", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class AssignmentNestedSerializer(serializers.ModelSerializer):
    department = DepartmentRefSerializer()
    assignee = serializers.SerializerMethodField(
        help_text="Username of the executor the department head gave the assignment to; null: the whole department."
    )
    attachments = AttachmentSerializer(many=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "department",
            "role",
            "status",
            "assignee",
            "due_at",
            "information",
            "submitted_at",
            "accepted_at",
            "decline_reason",
            "attachments",
        ]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_assignee(self, obj: Assignment) -> str | None:
        return obj.assignee.username if obj.assignee is not None else None


class AssignmentSerializer(AssignmentNestedSerializer):
    """An assignment on its own: also the incident it belongs to and what the service asks."""

    class Meta(AssignmentNestedSerializer.Meta):
        fields = ["id", "incident", *AssignmentNestedSerializer.Meta.fields[1:], "request"]


class AnswerNestedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Answer
        fields = ["id", "kind", "status", "text", "promised_date", "published_at", "link"]


class AnswerSerializer(AnswerNestedSerializer):
    class Meta(AnswerNestedSerializer.Meta):
        fields = ["id", "incident", *AnswerNestedSerializer.Meta.fields[1:]]


class IncidentSerializer(serializers.ModelSerializer):
    topic = serializers.SerializerMethodField(help_text="Rubricator topic name, without the ★ mark.")
    group = serializers.SerializerMethodField(help_text="Rubricator group name.")
    priority = serializers.BooleanField(help_text="True for ★ (priority) topics.")
    lead_department = DepartmentRefSerializer(allow_null=True)
    owner = serializers.SerializerMethodField(help_text="Username of the operator who took the incident.")
    merged_into: serializers.PrimaryKeyRelatedField[Incident] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    posts = PostSerializer(many=True)
    assignments = AssignmentNestedSerializer(many=True)
    answers = AnswerNestedSerializer(many=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "status",
            "topic",
            "group",
            "priority",
            "address",
            "lead_department",
            "owner",
            "due_at",
            "created_at",
            "merged_into",
            "posts",
            "assignments",
            "answers",
        ]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_topic(self, obj: Incident) -> str | None:
        return without_star(obj.topic.name) if obj.topic is not None else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_group(self, obj: Incident) -> str | None:
        return without_star(obj.group.name) if obj.group is not None else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_owner(self, obj: Incident) -> str | None:
        return obj.owner.username if obj.owner is not None else None


class NotificationSerializer(serializers.ModelSerializer):
    url = serializers.CharField(
        read_only=True, help_text="Path of the page in the app the notification is about (may be empty)."
    )
    incident: serializers.PrimaryKeyRelatedField[Incident] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    assignment: serializers.PrimaryKeyRelatedField[Assignment] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    read_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the user marked it read; null: unread."
    )

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "incident", "assignment", "created_at", "read_at"]
        read_only_fields = fields


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications became read (0 when all already were).")


# --- POST /api/v1/posts -------------------------------------------------------------------------------------


class PostInSerializer(StrictSerializer):
    """A post from a network or another system. Fields not listed here are refused (400 naming them)."""

    source = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.source
        help_text="Channel code: " + ", ".join(Channel.values) + ". Each maps to the channel's default source.",
        error_messages=text_messages(),
    )
    external_id = serializers.CharField(
        max_length=255,
        help_text="The post's id in its network; unique per source (a repeat returns 200 with the same ids).",
        error_messages=text_messages(),
    )
    text = serializers.CharField(max_length=100_000, error_messages=text_messages())
    posted_at = CityDateTimeField(
        help_text="ISO 8601; without an offset it is the city's local time.",
    )
    author = serializers.CharField(
        max_length=255, required=False, allow_blank=True, allow_null=True, error_messages=optional_text_messages()
    )
    author_id = serializers.CharField(
        max_length=255, required=False, allow_blank=True, allow_null=True, error_messages=optional_text_messages()
    )
    url = serializers.URLField(
        max_length=1000,
        required=False,
        allow_blank=True,
        allow_null=True,
        error_messages={**optional_text_messages(), "invalid": INVALID_LINK},
    )
    thread_id = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The post or comment this one was written under.",
        error_messages=optional_text_messages(),
    )
    topic = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="A rubricator topic name, if the sender already knows it (a leading ★ is accepted).",
        error_messages=optional_text_messages(),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Messages are built per request so that they follow the request's language.
        channels = ", ".join(Channel.values)
        self.fields["source"].error_messages.update(
            text_messages(_("Give the source: one of %(channels)s.") % {"channels": channels})
        )
        self.fields["external_id"].error_messages.update(
            text_messages(_("Give the post's id in its network (external_id)."))
        )
        self.fields["text"].error_messages.update(text_messages(_("Give the text of the post.")))
        self.fields["posted_at"].required_message = _(  # type: ignore[attr-defined]
            "Give the time of the post in ISO 8601, e.g. 2025-03-01T14:30:00+05:00."
        )

    def validate_source(self, value: str) -> str:
        value = value.strip()
        if value not in Channel.values:
            raise serializers.ValidationError(
                _("Unknown source «%(value)s»: use one of %(channels)s.")
                % {"value": value, "channels": ", ".join(Channel.values)}
            )
        return value

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("Give the post's id in its network (external_id)."))
        return value

    def validate_posted_at(self, value: dt.datetime) -> dt.datetime:
        if value < POSTED_AT_EARLIEST:
            raise serializers.ValidationError(
                _("The time of the post is too far in the past (%(value)s).") % {"value": value.isoformat()}
            )
        if value > timezone.now() + POSTED_AT_TOLERANCE:
            raise serializers.ValidationError(
                _("The time of the post is in the future (%(value)s): check the time zone.")
                % {"value": timezone.localtime(value).isoformat()}
            )
        return value

    def validate_topic(self, value: str | None) -> Topic | None:
        if value is None or not value.strip():
            return None
        topic = find_topic(value)
        if topic is None:
            raise serializers.ValidationError(
                _("Unknown topic «%(value)s»: give a topic name of the rubricator.") % {"value": value.strip()}
            )
        return topic


class PostCreatedSerializer(serializers.Serializer):
    post_id = serializers.IntegerField()
    incident_id = serializers.IntegerField(allow_null=True)


# --- lifecycle actions -----------------------------------------------------------------------------------


DEPARTMENT_ID = gettext_lazy("A department is given by its id (an integer).")
INCIDENT_ID = gettext_lazy("An incident is given by its id (an integer).")


def _id(message: Any) -> serializers.IntegerField:
    """Strict ids: 1.5 or true are refused, not read as 1."""
    return serializers.IntegerField(error_messages={"invalid": message})


def _department_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(queryset=Department.objects.all(), pk_field=_id(DEPARTMENT_ID), **kwargs)


class RouteSerializer(StrictSerializer):
    lead = _department_field(help_text="Id of the lead department.")
    co_executors = _department_field(many=True, required=False, help_text="Ids of co-executor departments.")
    due_hours = serializers.FloatField(
        required=False, allow_null=True, help_text="Working hours for the departments' information."
    )
    due_at = CityDateTimeField(
        required=False, allow_null=True, help_text="Or an exact due time (ISO 8601; without an offset: city time)."
    )
    request = serializers.CharField(required=False, allow_blank=True, help_text="What the service asks.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department_messages = {
            "required": _("Choose the lead department."),
            "null": _("Choose the lead department."),
            "does_not_exist": _("There is no department with id {pk_value}."),
            "incorrect_type": _("A department is given by its id (an integer)."),
        }
        self.fields["lead"].error_messages.update(department_messages)
        co_executor = self.fields["co_executors"].child_relation  # type: ignore[attr-defined]
        co_executor.error_messages.update(department_messages)
        self.fields["co_executors"].error_messages["not_a_list"] = _("Give a list of department ids.")
        self.fields["due_hours"].error_messages["invalid"] = _("Give the number of working hours.")

    def validate_due_hours(self, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 10_000:
            raise serializers.ValidationError(_("The number of working hours must be positive."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("due_hours") is not None and attrs.get("due_at") is not None:
            raise serializers.ValidationError({"due_at": [_("Give either due_hours or due_at, not both.")]})
        return attrs


class NoAnswerSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=NoAnswerReason.choices)
    note = serializers.CharField(required=False, allow_blank=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reasons = ", ".join(NoAnswerReason.values)
        message = _("Choose a reason: one of %(reasons)s.") % {"reasons": reasons}
        self.fields["reason"].error_messages.update({"required": message, "null": message, "invalid_choice": message})


class MergeSerializer(StrictSerializer):
    into = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(), pk_field=_id(INCIDENT_ID), help_text="Id of the target incident."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["into"].error_messages.update(
            {
                "required": _("Give the id of the incident to merge into."),
                "null": _("Give the id of the incident to merge into."),
                "does_not_exist": _("There is no incident #{pk_value}."),
                "incorrect_type": _("An incident is given by its id (an integer)."),
            }
        )


class SplitSerializer(StrictSerializer):
    post_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        message = _("Give the ids of the posts to split off.")
        self.fields["post_ids"].error_messages.update(
            {"required": message, "null": message, "not_a_list": message, "empty": message, "min_length": message}
        )
        child = self.fields["post_ids"].child  # type: ignore[attr-defined]
        child.error_messages["invalid"] = _("A post is given by its id (an integer).")


class NoteSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True)


class ReopenSerializer(StrictSerializer):
    reason = serializers.CharField()
    to = serializers.ChoiceField(
        choices=[IncidentStatus.ROUTED, IncidentStatus.ANSWERING], default=IncidentStatus.ROUTED, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages.update(text_messages(_("Say why the incident is reopened.")))
        self.fields["to"].error_messages["invalid_choice"] = _("A reopened incident goes to «routed» or «answering».")


class ClassifySerializer(StrictSerializer):
    topic = serializers.CharField(help_text="A rubricator topic name (a leading ★ is accepted).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].error_messages.update(text_messages(_("Give a topic name of the rubricator.")))

    def validate_topic(self, value: str) -> Topic:
        topic = find_topic(value)
        if topic is None:
            raise serializers.ValidationError(
                _("Unknown topic «%(value)s»: give a topic name of the rubricator.") % {"value": value.strip()}
            )
        return topic


class AnswerDraftSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=AnswerKind.choices)
    text = serializers.CharField()
    promised_date = serializers.DateField(required=False, allow_null=True, help_text="Needed for `intermediate`.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = _("Choose the kind of answer: one of %(kinds)s.") % {"kinds": ", ".join(AnswerKind.values)}
        self.fields["kind"].error_messages.update({"required": kinds, "null": kinds, "invalid_choice": kinds})
        self.fields["text"].error_messages.update(text_messages(_("Write the text of the answer.")))
        self.fields["promised_date"].error_messages["invalid"] = _("Give the date as YYYY-MM-DD.")


class CommentSerializer(StrictSerializer):
    comment = serializers.CharField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["comment"].error_messages.update(text_messages(_("Say what must be corrected.")))


class ReworkSerializer(CommentSerializer):
    criteria = serializers.ListField(
        child=serializers.ChoiceField(choices=ReworkCriterion.choices),
        required=False,
        default=list,
        help_text="What is wrong: formal, no_date, no_evidence, contradictory, other.",
    )


class PublishSerializer(StrictSerializer):
    link = serializers.URLField(
        required=False, allow_blank=True, max_length=1000, error_messages={"invalid": INVALID_LINK}
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Why a final answer is published without the lead department's accepted information.",
    )
    quality_override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "Why an answer with quality errors is published as it is; only the head of the service (or the acting "
            "head) may give it."
        ),
    )


class AssignSerializer(StrictSerializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        allow_null=True,
        help_text="Username of an executor or the head of the assignment's department; null gives it back to the "
        "whole department.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        message = _("Give the username of an executor of the department, or null for the whole department.")
        self.fields["assignee"].error_messages.update(
            {
                "required": message,
                "invalid": message,
                "does_not_exist": _("There is no active user «{value}»."),
            }
        )


class InformationSerializer(StrictSerializer):
    text = serializers.CharField()
    files = serializers.ListField(
        # Empty files too: the shared check refuses them with the file's name (otklik.core.uploads).
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        help_text="Attachments (multipart/form-data).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].error_messages.update(text_messages(_("Write the information for the answer.")))

    def validate_files(self, value: list[Any]) -> list[Any]:
        # The same checks as the assignment page (type, size, contents; otklik.core.uploads).
        try:
            return uploads.validate_uploads(value, uploads.ATTACHMENT, max_files=MAX_FILES)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class DeclineSerializer(StrictSerializer):
    reason = serializers.CharField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages.update(
            text_messages(_("Say why this is not your department's competence."))
        )


# --- auth and errors (documentation) -------------------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    department = DepartmentRefSerializer(allow_null=True)
    unread_notifications = serializers.IntegerField(help_text="How many of the user's notifications are unread.")


class DetailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


# --- POST /api/v1/answers/check ------------------------------------------------------------------------------

MAX_CHECK_CHARS = 20_000


class StrictTextField(serializers.CharField):
    """A string and nothing else (DRF's CharField would turn 5 or true into text); never trimmed, since the
    findings' offsets index into the text exactly as sent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AnswerCheckSerializer(StrictSerializer):
    text = StrictTextField(
        allow_blank=True,
        max_length=MAX_CHECK_CHARS,
        help_text="The draft of the answer; findings' offsets index into it.",
    )
    complaint = StrictTextField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=MAX_CHECK_CHARS,
        help_text="The citizen's post the answer replies to (optional).",
    )
    attachments = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=1000,
        help_text="How many files (photos, acts) go with the answer; 0 by default.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missing = _("Give the text of the answer to check in «text».")
        self.fields["text"].error_messages.update(
            {
                "required": missing,
                "null": missing,
                "invalid": _("«text» must be a string."),
                "max_length": _("«text» is too long: at most {max_length} characters."),
            }
        )
        self.fields["complaint"].error_messages.update(
            {
                "invalid": _("«complaint» must be a string."),
                "max_length": _("«complaint» is too long: at most {max_length} characters."),
            }
        )
        count = _("«attachments» must be a whole number from 0 to 1000.")
        self.fields["attachments"].error_messages.update(
            {"invalid": count, "min_value": count, "max_value": count, "max_string_length": count}
        )


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The rule: greeting_missing, deadline_missing, evidence_missing, …")
    severity = serializers.ChoiceField(
        choices=["error", "warning"], help_text="`error` blocks publishing, `warning` does not."
    )
    message = serializers.CharField(help_text="What is wrong, in the user's language.")
    start = serializers.IntegerField(help_text="Code point offset into `text`; 0 for something missing.")
    end = serializers.IntegerField(help_text="Exclusive; equal to `start` for something missing.")
    suggestion = serializers.CharField(allow_blank=True, help_text="A plain replacement, or empty.")


class AnswerCheckResultSerializer(serializers.Serializer):
    findings = FindingSerializer(many=True)
