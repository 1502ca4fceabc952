"""`GET /api/v1/stats`: the figures of a period for the director and the service (issue 8; docs/STATS.md)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otklik.api.serializers import DetailErrorSerializer
from otklik.intake.choices import Channel
from otklik.stats.params import ParamError, parse_filters, parse_period
from otklik.stats.selectors import as_api, compute_stats


class CanReadStats(BasePermission):
    """The service (operators, the head, admins) and the director; departments' users are refused."""

    message = _("The figures are for the feedback service and the director.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "can_read_all", False))


def _share() -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, min_value=0, max_value=1)


def _hours() -> serializers.FloatField:
    return serializers.FloatField(allow_null=True)


class StatsGroupSerializer(serializers.Serializer):
    group = serializers.CharField(allow_null=True, help_text="The group's name; null for incidents without a group.")
    incidents = serializers.IntegerField()
    on_time_share = _share()


class StatsDepartmentSerializer(serializers.Serializer):
    department = serializers.CharField()
    assignments = serializers.IntegerField()
    on_time_share = _share()
    rework_share = _share()


class StatsSerializer(serializers.Serializer):
    # `from` is a Python keyword: the field is declared below.
    to = serializers.DateField()
    posts = serializers.IntegerField(help_text="Posts written in the period.")
    incidents = serializers.IntegerField(help_text="Incidents created in the period (merged ones left out).")
    answered = serializers.IntegerField(help_text="Of them, with a final answer (or a refusal) published.")
    on_time_share = _share()
    first_answer_median_hours = _hours()
    first_answer_median_calendar_hours = _hours()
    first_answer_p90_hours = _hours()
    first_answer_p90_calendar_hours = _hours()
    final_answer_median_hours = _hours()
    final_answer_median_calendar_hours = _hours()
    final_answer_p90_hours = _hours()
    final_answer_p90_calendar_hours = _hours()
    overdue_now = serializers.IntegerField(help_text="Open incidents past their due time now (any creation date).")
    satisfied_share = _share()
    reopened_share = _share()
    rework_share = _share()
    not_competent_share = _share()
    negative_share = _share()
    by_group = StatsGroupSerializer(many=True)
    by_department = StatsDepartmentSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        return {"from": serializers.DateField(), **fields}


DESCRIPTION = """
The figures of a period of city days (Asia/Yekaterinburg), both ends included; every definition is in
docs/STATS.md. Incidents are those created in the period (merged ones left out); assignments those created in the
period (cancelled ones left out; the department scorecard's rows); posts those written in the period.

- Shares are in [0, 1], or `null` when there is nothing to divide by (`satisfied_share`: among the incidents whose
  final answer was published in the period, those the citizen was satisfied with — docs/STATS.md).
- `*_hours` are working hours (the clocks' time where a clock measured the interval, which leaves out waiting for
  the citizen; otherwise the city's working calendar); `*_calendar_hours` are the same in calendar hours.
  Medians and 90th percentiles (linear interpolation).
- `on_time_share`: of the incidents whose answer deadlines were judged (met, missed, or running past due now),
  those that kept all of them. In `by_department`: information submitted, or declined, by the assignment's due
  time, as on the scorecard.
- `group` and `department` take an id or an exact name (case-insensitive; a department also by its short name);
  `group` filters the incidents' group, `department` the incidents' *lead* department and the assignments'
  department; `source` a channel code.

Allowed for operators, the head of the service, admins and the director; executors and department heads get 403.
A wrong or missing date, `from` after `to`, a period over three years, an unknown group, department or source:
400 naming the parameter.
""".strip()


class StatsView(APIView):
    permission_classes = [IsAuthenticated, CanReadStats]

    @extend_schema(
        summary="Figures of a period",
        description=DESCRIPTION,
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="First day, YYYY-MM-DD."),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="Last day (included), YYYY-MM-DD."),
            OpenApiParameter("group", OpenApiTypes.STR, description="Topic group: id or exact name."),
            OpenApiParameter("department", OpenApiTypes.STR, description="Department: id, exact name or short name."),
            OpenApiParameter("source", OpenApiTypes.STR, enum=Channel.values, description="Source channel."),
        ],
        responses={
            200: StatsSerializer,
            400: OpenApiResponse(
                {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                description='Wrong parameters: `{"from": ["…"], "group": ["…"], …}` naming each one.',
            ),
            401: OpenApiResponse(DetailErrorSerializer, description="No or invalid token."),
            403: OpenApiResponse(DetailErrorSerializer, description="Executors and department heads."),
        },
        examples=[
            OpenApiExample(
                "A week",
                response_only=True,
                value={
                    "from": "2026-12-01",
                    "to": "2026-12-07",
                    "posts": 412,
                    "incidents": 318,
                    "answered": 270,
                    "on_time_share": 0.91,
                    "first_answer_median_hours": 2.5,
                    "first_answer_median_calendar_hours": 3.1,
                    "first_answer_p90_hours": 7.0,
                    "first_answer_p90_calendar_hours": 20.4,
                    "final_answer_median_hours": 6.0,
                    "final_answer_median_calendar_hours": 22.0,
                    "final_answer_p90_hours": 30.5,
                    "final_answer_p90_calendar_hours": 70.0,
                    "overdue_now": 7,
                    "satisfied_share": 0.71,
                    "reopened_share": 0.04,
                    "rework_share": 0.12,
                    "not_competent_share": 0.05,
                    "negative_share": 0.38,
                    "by_group": [{"group": "ЖКХ", "incidents": 150, "on_time_share": 0.88}],
                    "by_department": [
                        {"department": "Департамент ЖКХ", "assignments": 140, "on_time_share": 0.8, "rework_share": 0.1}
                    ],
                },
            )
        ],
        tags=["stats"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        errors: dict[str, list[str]] = {}
        try:
            start, end = parse_period(params.get("from"), params.get("to"))
        except ParamError as exc:
            errors.update(exc.errors)
        try:
            filters = parse_filters(params.get("group"), params.get("department"), params.get("source"))
        except ParamError as exc:
            errors.update(exc.errors)
        if errors:
            raise ValidationError(errors)
        return Response(as_api(compute_stats(start, end, filters)))
