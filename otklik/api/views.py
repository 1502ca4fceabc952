"""The API of issue 2: thin views. Authenticate → find the object among the visible ones (else 404) → check the
role (else 403) → validate the body (else 400) → call the `do_*` service → render the fresh object.

Errors of the services become responses in `otklik.api.errors.exception_handler`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import logout
from django.db import connection
from django.db.models import F, QuerySet
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from knox.models import get_token_model
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from otklik.accounts.choices import Role
from otklik.answers import services as answer_services
from otklik.answers.checks import run_checks
from otklik.answers.models import Answer
from otklik.api import serializers as s
from otklik.api.permissions import CanSendPosts, IsServiceUser, ReadOnlyForDirector
from otklik.cases import selectors
from otklik.cases import services as case_services
from otklik.cases.choices import OPEN_STATUSES, AssignmentStatus, IncidentStatus
from otklik.cases.models import Assignment, Attachment, Incident
from otklik.core.errors import NotAllowed
from otklik.core.permissions import ensure_assignment_actor, ensure_head, ensure_service
from otklik.intake.services import default_source, do_ingest_post
from otklik.notifications import selectors as notification_selectors
from otklik.notifications import services as notification_services
from otklik.notifications.models import Notification
from otklik.org.models import TopicGroup

if TYPE_CHECKING:
    from otklik.accounts.models import User

BASE_PERMISSIONS = [IsAuthenticated, ReadOnlyForDirector]


def current_user(request: Request) -> User:
    """The authenticated user (every view here requires authentication)."""
    return cast("User", request.user)


VALIDATION_ERROR = OpenApiResponse(
    {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    description='Invalid input: `{"field": ["message", …], …}` naming each field (or `detail`).',
)
ERRORS = {
    400: VALIDATION_ERROR,
    401: OpenApiResponse(s.DetailErrorSerializer, description="No or invalid token."),
    403: OpenApiResponse(s.DetailErrorSerializer, description="The user's role may not do this."),
    404: OpenApiResponse(s.DetailErrorSerializer, description="No such object, or not visible to the user."),
    409: OpenApiResponse(
        s.DetailErrorSerializer,
        description='The status does not allow this step: `{"detail": …, "code": "illegal_transition"}`.',
    ),
}
LIST_ERRORS = {
    **{k: v for k, v in ERRORS.items() if k in (400, 401)},
    404: OpenApiResponse(s.DetailErrorSerializer, description="A page past the last one."),
}
READ_ERRORS = {k: v for k, v in ERRORS.items() if k in (401, 404)}


def _codes(param: str, raw: str | None, allowed: list[str]) -> list[str]:
    """`a,b` → ["a", "b"], each one of `allowed`; else 400 naming the parameter."""
    values = [v.strip() for v in (raw or "").split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(
            {
                param: [
                    _("Unknown value «%(value)s»: use one of %(allowed)s.")
                    % {"value": ", ".join(unknown), "allowed": ", ".join(allowed)}
                ]
            }
        )
    return values


def _int_param(param: str, raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({param: [_("Must be an integer id.")]}) from None
    if not 1 <= value <= s.MAX_ID:
        raise ValidationError({param: [_("Must be an integer id.")]})
    return value


def _bool_param(param: str, raw: str | None) -> bool | None:
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip().lower()
    if value not in {"true", "false"}:
        raise ValidationError({param: [_("Must be true or false.")]})
    return value == "true"


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/ (a malformed id such as `/incidents/1.5` included): a JSON 404 like the API's own,
    not the HTML page of the site."""
    return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)


# --- auth ---------------------------------------------------------------------------------------------------


class LogoutView(APIView):
    """Revoke the token of this request (or end the session of a browser)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Revoke this token", request=None, responses={204: None, 401: ERRORS[401]}, tags=["auth"])
    def post(self, request: Request) -> Response:
        token = request.auth
        if isinstance(token, get_token_model()):
            token.delete()
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every token of the user."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke every token of the user", request=None, responses={204: None, 401: ERRORS[401]}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        get_token_model().objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """Who the token belongs to: to check a token and its role."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Who am I", responses={200: s.MeSerializer, 401: ERRORS[401]}, tags=["auth"])
    def get(self, request: Request) -> Response:
        user = current_user(request)
        department = user.department
        data = {
            "username": user.username,
            "role": user.role,
            "department": {"id": department.pk, "name": department.name} if department else None,
            "unread_notifications": notification_selectors.unread_count(user),
        }
        return Response(s.MeSerializer(data).data)


# --- posts ------------------------------------------------------------------------------------------------


class PostViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, CanSendPosts]
    serializer_class = s.PostInSerializer

    @extend_schema(
        summary="Send a post",
        description=(
            "Store a post from a network or another system; a new post opens an incident (classification and "
            "routing run in the worker within seconds). Idempotent by `source` + `external_id`: a repeat returns "
            "200 with the same ids and creates nothing. Unknown fields are refused with 400 naming them. "
            "Allowed for operators, the head, admins and integrations using a token of such a user."
        ),
        request=s.PostInSerializer,
        responses={
            201: OpenApiResponse(s.PostCreatedSerializer, description="A new post."),
            200: OpenApiResponse(s.PostCreatedSerializer, description="The post was already stored."),
            **{k: v for k, v in ERRORS.items() if k in (400, 401, 403)},
        },
    )
    def create(self, request: Request) -> Response:
        serializer = s.PostInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = do_ingest_post(
            source=default_source(data["source"]),
            external_id=data["external_id"],
            text=data["text"],
            posted_at=data["posted_at"],
            author_name=data.get("author") or "",
            author_id=data.get("author_id") or "",
            url=data.get("url") or "",
            thread_id=data.get("thread_id") or "",
            topic=data.get("topic"),
            actor=current_user(request),
        )
        body = s.PostCreatedSerializer({"post_id": result.post.pk, "incident_id": result.incident_id}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


# --- incidents ----------------------------------------------------------------------------------------------

INCIDENT_FILTERS = [
    OpenApiParameter(
        "status",
        str,
        description="Status code, or several separated by commas: " + ", ".join(IncidentStatus.values),
    ),
    OpenApiParameter("group", str, description="Rubricator group name."),
    OpenApiParameter("department", int, description="Department id: incidents it leads or has an assignment on."),
    OpenApiParameter("overdue", bool, description="true: open and past the answer due time; false: all others."),
    OpenApiParameter("q", str, description="Text in the posts or the address; `123` or `#123` finds by id."),
]


@extend_schema_view(
    list=extend_schema(
        summary="List incidents",
        description="Visible incidents, newest first. Invalid filter values are a 400 naming the parameter.",
        parameters=INCIDENT_FILTERS,
        responses={200: s.IncidentSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="An incident", responses={200: s.IncidentSerializer, **READ_ERRORS}),
)
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = BASE_PERMISSIONS
    serializer_class = s.IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        if self.action in {"list", "retrieve"}:
            queryset = selectors.incidents_for_display(current_user(self.request))
        else:
            queryset = selectors.visible_incidents(current_user(self.request))
        if self.action == "list":
            queryset = self.filter_list(queryset)
        return queryset

    def filter_list(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        params = self.request.query_params
        statuses = _codes("status", params.get("status"), list(IncidentStatus.values))
        if statuses:
            queryset = queryset.filter(status__in=statuses)
        group = (params.get("group") or "").strip()
        if group:
            found = TopicGroup.objects.filter(name=s.without_star(group)).first()
            if found is None:
                raise ValidationError({"group": [_("Unknown group «%(value)s».") % {"value": group}]})
            queryset = queryset.filter(group=found)
        department = _int_param("department", params.get("department"))
        if department is not None:
            queryset = selectors.incidents_of_department(queryset, department)
        overdue = _bool_param("overdue", params.get("overdue"))
        if overdue is not None:
            condition = {"status__in": list(OPEN_STATUSES), "due_at__lt": timezone.now()}
            queryset = queryset.filter(**condition) if overdue else queryset.exclude(**condition)
        q = params.get("q") or ""
        if q.strip():
            queryset = selectors.search_incidents(queryset, q, full_text=connection.vendor == "postgresql")
        return queryset.order_by("-created_at", "-id")

    # --- helpers for the actions ---

    def _input(self, serializer_class: type[BaseSerializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _service_incident(self) -> Incident:
        """The visible incident of the URL (404) that only the service may change (403)."""
        incident = self.get_object()
        ensure_service(current_user(self.request))
        return incident

    def _render(self, incident_id: int, code: int = status.HTTP_200_OK) -> Response:
        incident = selectors.incidents_for_display(current_user(self.request)).get(pk=incident_id)
        return Response(s.IncidentSerializer(incident, context=self.get_serializer_context()).data, status=code)

    def _act(self, call: Callable[[Incident, dict[str, Any]], Any], serializer_class: type | None = None) -> Response:
        incident = self._service_incident()
        data = self._input(serializer_class) if serializer_class is not None else {}
        call(incident, data)
        return self._render(incident.pk)

    # --- actions ---

    @extend_schema(
        summary="Take the incident (become its owner)", request=None, responses={200: s.IncidentSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def take(self, request: Request, pk: str | None = None) -> Response:
        return self._act(lambda incident, data: case_services.do_take(incident, actor=current_user(request)))

    @extend_schema(
        summary="Route to departments",
        description="A lead department and co-executors, each getting an assignment with a due time.",
        request=s.RouteSerializer,
        responses={200: s.IncidentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def route(self, request: Request, pk: str | None = None) -> Response:
        def call(incident: Incident, data: dict[str, Any]) -> None:
            case_services.do_route(
                incident,
                actor=current_user(request),
                lead=data["lead"],
                co_executors=data.get("co_executors") or [],
                due_hours=data.get("due_hours"),
                due_at=data.get("due_at"),
                request=data.get("request") or "",
            )

        return self._act(call, s.RouteSerializer)

    @extend_schema(
        summary="Mark as needing no answer",
        request=s.NoAnswerSerializer,
        responses={200: s.IncidentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="no-answer")
    def no_answer(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda incident, data: case_services.do_mark_no_answer(
                incident, actor=current_user(request), reason=data["reason"], note=data.get("note") or ""
            ),
            s.NoAnswerSerializer,
        )

    @extend_schema(
        summary="Merge into another incident",
        description="The posts move to `into`; this incident becomes `merged`. Returns this (merged) incident.",
        request=s.MergeSerializer,
        responses={200: s.IncidentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda incident, data: case_services.do_merge(incident, into=data["into"], actor=current_user(request)),
            s.MergeSerializer,
        )

    @extend_schema(
        summary="Split posts off into a new incident",
        description="Returns the new incident (201); it starts in triage.",
        request=s.SplitSerializer,
        responses={201: s.IncidentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def split(self, request: Request, pk: str | None = None) -> Response:
        incident = self._service_incident()
        data = self._input(s.SplitSerializer)
        new = case_services.do_split(incident, post_ids=data["post_ids"], actor=current_user(request))
        return self._render(new.pk, status.HTTP_201_CREATED)

    @extend_schema(summary="Close", request=s.NoteSerializer, responses={200: s.IncidentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda incident, data: case_services.do_close(
                incident, actor=current_user(request), note=data.get("note") or ""
            ),
            s.NoteSerializer,
        )

    @extend_schema(
        summary="Reopen an answered or closed incident",
        request=s.ReopenSerializer,
        responses={200: s.IncidentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda incident, data: case_services.do_reopen(
                incident, actor=current_user(request), reason=data["reason"], to=data.get("to") or IncidentStatus.ROUTED
            ),
            s.ReopenSerializer,
        )

    @extend_schema(
        summary="Set the topic", request=s.ClassifySerializer, responses={200: s.IncidentSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def classify(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda incident, data: case_services.do_classify(
                incident, topic=data["topic"], actor=current_user(request)
            ),
            s.ClassifySerializer,
        )

    @extend_schema(
        summary="Draft an answer",
        request=s.AnswerDraftSerializer,
        responses={201: s.AnswerSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def answers(self, request: Request, pk: str | None = None) -> Response:
        incident = self._service_incident()
        data = self._input(s.AnswerDraftSerializer)
        answer = answer_services.do_draft_answer(
            incident,
            actor=current_user(request),
            kind=data["kind"],
            text=data["text"],
            promised_date=data.get("promised_date"),
        )
        return Response(s.AnswerSerializer(answer).data, status=status.HTTP_201_CREATED)


# --- answers ----------------------------------------------------------------------------------------------


@extend_schema_view(retrieve=extend_schema(summary="An answer", responses={200: s.AnswerSerializer, **READ_ERRORS}))
class AnswerViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = BASE_PERMISSIONS
    serializer_class = s.AnswerSerializer

    def get_queryset(self) -> QuerySet[Answer]:
        return Answer.objects.filter(incident__in=selectors.visible_incidents(current_user(self.request)))

    def _act(
        self,
        check: Callable[[Any], None],
        call: Callable[[Answer, dict[str, Any]], Answer],
        serializer_class: type | None = None,
    ) -> Response:
        answer = self.get_object()
        check(current_user(self.request))
        data: dict[str, Any] = {}
        if serializer_class is not None:
            serializer = serializer_class(data=self.request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        return Response(s.AnswerSerializer(call(answer, data)).data)

    @extend_schema(summary="Send for approval", request=None, responses={200: s.AnswerSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            ensure_service,
            lambda answer, data: answer_services.do_submit_for_approval(answer, actor=current_user(request)),
        )

    @extend_schema(summary="Approve (the head)", request=None, responses={200: s.AnswerSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            ensure_head, lambda answer, data: answer_services.do_approve_answer(answer, actor=current_user(request))
        )

    @extend_schema(
        summary="Return for rework (the head)",
        request=s.CommentSerializer,
        responses={200: s.AnswerSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            ensure_head,
            lambda answer, data: answer_services.do_reject_answer(
                answer, actor=current_user(request), comment=data["comment"]
            ),
            s.CommentSerializer,
        )

    @extend_schema(
        summary="Publish",
        description=(
            "A final answer needs the lead department's information accepted, unless `override_reason` is given. "
            "An answer an approval rule applies to must be approved first, unless the head publishes it. The "
            "quality checks run last: an `error` finding blocks publishing (400 on `quality_override_reason`) "
            "unless the head of the service (or the acting head) gives `quality_override_reason`."
        ),
        request=s.PublishSerializer,
        responses={200: s.AnswerSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            ensure_service,
            lambda answer, data: answer_services.do_publish_answer(
                answer,
                actor=current_user(request),
                link=data.get("link") or "",
                override_reason=data.get("override_reason") or "",
                quality_override_reason=data.get("quality_override_reason") or "",
            ),
            s.PublishSerializer,
        )


class AnswerCheckView(APIView):
    """Run the quality checks of answers on a draft (the editor calls it as the operator types)."""

    permission_classes = [IsAuthenticated, IsServiceUser]

    @extend_schema(
        summary="Check a draft answer",
        description=(
            "Runs every quality check (docs/ANSWERS.md, «Quality checks») and returns the findings sorted by "
            "`start`. Offsets are code point indices into `text`, `end` exclusive; a finding about something "
            "missing has `start = end = 0`. `error` blocks publishing, `warning` does not. Nothing is stored. "
            "Allowed for operators, the head of the service and admins."
        ),
        request=s.AnswerCheckSerializer,
        responses={
            200: s.AnswerCheckResultSerializer,
            **{k: v for k, v in ERRORS.items() if k in (400, 401, 403)},
        },
        examples=[
            OpenApiExample(
                "A vague promise",
                request_only=True,
                value={
                    "text": "Добрый день. Данный вопрос находится на контроле, ремонт выполнят в ближайшее время.",
                    "complaint": "Яма на улице Ленина у дома 5",
                },
            ),
            OpenApiExample(
                "Its findings",
                response_only=True,
                value={
                    "findings": [
                        {
                            "code": "bureaucratese",
                            "severity": "warning",
                            "message": "«Данный» — канцелярит: скажите проще.",
                            "start": 13,
                            "end": 19,
                            "suggestion": "этот",
                        },
                        {
                            "code": "deadline_missing",
                            "severity": "error",
                            "message": "Обещание без срока: назовите дату или период.",
                            "start": 20,
                            "end": 48,
                            "suggestion": "",
                        },
                        {
                            "code": "bureaucratese",
                            "severity": "warning",
                            "message": "«находится на контроле» — канцелярит: скажите проще.",
                            "start": 27,
                            "end": 48,
                            "suggestion": "мы следим",
                        },
                        {
                            "code": "deadline_missing",
                            "severity": "error",
                            "message": "Обещание без срока: назовите дату или период.",
                            "start": 66,
                            "end": 83,
                            "suggestion": "",
                        },
                    ]
                },
            ),
        ],
        tags=["answers"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.AnswerCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        findings = run_checks(data["text"], data.get("complaint") or "", attachments=data.get("attachments") or 0)
        return Response(s.AnswerCheckResultSerializer({"findings": [f.as_dict() for f in findings]}).data)


# --- assignments ------------------------------------------------------------------------------------------


def _ensure_can_assign(user: User, assignment: Assignment) -> None:
    """The role check of `do_assign_executor`, made before the body is read (403 before 400); the service
    checks again."""
    if user.is_service or (user.role == Role.DEPT_HEAD and user.department_id == assignment.department_id):
        return
    raise NotAllowed(_("Only the head of the department can reassign its assignments."))


@extend_schema_view(
    list=extend_schema(
        summary="List assignments",
        description="Visible assignments (an executor sees his department's), the earliest due first.",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                description="Status code, or several separated by commas: " + ", ".join(AssignmentStatus.values),
            ),
            OpenApiParameter("department", int, description="Department id."),
        ],
        responses={200: s.AssignmentSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="An assignment", responses={200: s.AssignmentSerializer, **READ_ERRORS}),
)
class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = BASE_PERMISSIONS
    serializer_class = s.AssignmentSerializer
    # Error messages of the services name their own fields; the API calls them differently.
    domain_field_map = {"information": "text"}

    def get_queryset(self) -> QuerySet[Assignment]:
        queryset = selectors.assignments_for_display(current_user(self.request))
        if self.action == "list":
            params = self.request.query_params
            statuses = _codes("status", params.get("status"), list(AssignmentStatus.values))
            if statuses:
                queryset = queryset.filter(status__in=statuses)
            department = _int_param("department", params.get("department"))
            if department is not None:
                queryset = queryset.filter(department_id=department)
            queryset = queryset.order_by(F("due_at").asc(nulls_last=True), "id")
        return queryset

    def _act(
        self,
        check: Callable[[Any, Assignment], None],
        call: Callable[[Assignment, dict[str, Any]], Any],
        serializer_class: type | None = None,
    ) -> Response:
        assignment = self.get_object()
        check(current_user(self.request), assignment)
        data: dict[str, Any] = {}
        if serializer_class is not None:
            serializer = serializer_class(data=self.request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        call(assignment, data)
        fresh = selectors.assignments_for_display(current_user(self.request)).get(pk=assignment.pk)
        return Response(s.AssignmentSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Send the department's information",
        description="JSON `{text}`, or multipart/form-data with `text` and `files` (attachments).",
        request={
            "application/json": s.InformationSerializer,
            "multipart/form-data": s.InformationSerializer,
        },
        responses={200: s.AssignmentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def information(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            ensure_assignment_actor,
            lambda assignment, data: case_services.do_submit_information(
                assignment, actor=current_user(request), text=data["text"], files=data.get("files") or []
            ),
            s.InformationSerializer,
        )

    @extend_schema(summary="Accept the information", request=None, responses={200: s.AssignmentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda user, assignment: ensure_service(user),
            lambda assignment, data: case_services.do_accept_information(assignment, actor=current_user(request)),
        )

    @extend_schema(
        summary="Return the information for rework",
        request=s.ReworkSerializer,
        responses={200: s.AssignmentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rework(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            lambda user, assignment: ensure_service(user),
            lambda assignment, data: case_services.do_return_for_rework(
                assignment, actor=current_user(request), comment=data["comment"], criteria=data.get("criteria", [])
            ),
            s.ReworkSerializer,
        )

    @extend_schema(
        summary="Give the assignment to an executor",
        description=(
            "The head of the assignment's department (or the service) gives it to one executor or department head "
            'of that department: `{"assignee": "username"}`; `{"assignee": null}` gives it back to the whole '
            "department. The executor is notified. A finished assignment cannot be reassigned (409)."
        ),
        request=s.AssignSerializer,
        responses={200: s.AssignmentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            _ensure_can_assign,
            lambda assignment, data: case_services.do_assign_executor(
                assignment, actor=current_user(request), assignee=data["assignee"]
            ),
            s.AssignSerializer,
        )

    @extend_schema(
        summary="Decline: not the department's competence",
        request=s.DeclineSerializer,
        responses={200: s.AssignmentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            ensure_assignment_actor,
            lambda assignment, data: case_services.do_decline(
                assignment, actor=current_user(request), reason=data["reason"]
            ),
            s.DeclineSerializer,
        )


# --- notifications ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List my notifications",
        description="The notifications of the token's user only, newest first.",
        parameters=[
            OpenApiParameter("unread", bool, description="true: only unread ones; false: only read ones."),
        ],
        responses={200: s.NotificationSerializer(many=True), **LIST_ERRORS},
        tags=["notifications"],
    ),
)
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """A user's own notifications. Every role may use these, the director too: marking his own notifications
    read changes nothing in the cases, so `ReadOnlyForDirector` is deliberately not applied here."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        queryset = notification_selectors.notifications_of(current_user(self.request))
        if self.action == "list":
            unread = _bool_param("unread", self.request.query_params.get("unread"))
            if unread is not None:
                queryset = queryset.filter(read_at__isnull=unread)
        return queryset

    @extend_schema(
        summary="Mark a notification read",
        description="Idempotent: marking it again keeps the first reading time. Another user's notification: 404.",
        request=None,
        responses={200: s.NotificationSerializer, **READ_ERRORS},
        tags=["notifications"],
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = self.get_object()
        user = current_user(request)
        notification_services.do_mark_read(user, notification_ids=[notification.pk])
        fresh = notification_selectors.notifications_of(user).get(pk=notification.pk)
        return Response(s.NotificationSerializer(fresh).data)

    @extend_schema(
        summary="Mark all my notifications read",
        description="Idempotent: returns how many became read (0 when all already were).",
        request=None,
        responses={200: s.MarkedReadSerializer, 401: ERRORS[401]},
        tags=["notifications"],
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        marked = notification_services.do_mark_read(current_user(request))
        return Response(s.MarkedReadSerializer({"marked": marked}).data)


# --- attachments ------------------------------------------------------------------------------------------


class AttachmentViewSet(viewsets.GenericViewSet):
    permission_classes = BASE_PERMISSIONS

    def get_queryset(self) -> QuerySet[Attachment]:
        return selectors.visible_attachments(current_user(self.request))

    @extend_schema(
        summary="Download an attachment",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **READ_ERRORS},
    )
    def retrieve(self, request: Request, pk: str | None = None) -> FileResponse:
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404 from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type or "application/octet-stream",
        )
