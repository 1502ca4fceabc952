"""The satisfaction figures' classification kept on each published final answer (otklik.satisfaction.outcomes):
`previous_final_at` and `satisfied_after`, filled here for the answers already published (one UPDATE of the
published final answers: 1M posts, ~600,000 such answers, about a minute on PostgreSQL). The expressions repeat
`otklik.satisfaction.outcomes.answer_outcomes` with the migration's models (a migration does not import app code)."""

from django.db import migrations, models
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When


def fill(apps, schema_editor):
    Answer = apps.get_model("answers", "Answer")
    Event = apps.get_model("cases", "Event")
    FollowUp = apps.get_model("satisfaction", "FollowUp")
    Survey = apps.get_model("satisfaction", "Survey")
    final = Q(kind="final", status="published", published_at__isnull=False)
    since = OuterRef("published_at")
    earlier = (
        Answer.objects.filter(final, incident=OuterRef("incident"))
        .filter(Q(published_at__lt=since) | Q(published_at=since, pk__lt=OuterRef("pk")))
        .order_by("-published_at", "-pk")
        .values("published_at")[:1]
    )
    satisfied = (
        Exists(FollowUp.objects.filter(incident=OuterRef("incident"), verdict="satisfied", created_at__gte=since))
        | Exists(
            Survey.objects.filter(
                incident=OuterRef("incident"), status="answered", result="solved", answered_at__gte=since
            )
        )
    ) & ~Exists(Event.objects.filter(incident=OuterRef("incident"), verb="reopened", created_at__gte=since))
    Answer.objects.filter(final).update(
        previous_final_at=Subquery(earlier),
        satisfied_after=Case(When(satisfied, then=Value(True)), default=Value(False)),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("answers", "0002_quality_versions_templates_outbox"),
        ("satisfaction", "0001_initial"),
        ("cases", "0014_assignment_dept_created"),
    ]

    operations = [
        migrations.AddField(
            model_name="answer",
            name="previous_final_at",
            field=models.DateTimeField(editable=False, null=True, verbose_name="previous final answer published"),
        ),
        migrations.AddField(
            model_name="answer",
            name="satisfied_after",
            field=models.BooleanField(default=False, editable=False, verbose_name="the citizen satisfied since"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
