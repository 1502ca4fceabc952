"""The satisfaction figures read the classification kept on the answers (answers 0003, otklik.satisfaction.outcomes).

PostgreSQL: the published final answers' index carries it too (`previous_final_at`, `satisfied_after`), so the
dashboard's count is index-only; `stats_answer_final_satisfied` holds only the answers after which the citizen was
satisfied (about a fifth), for the inbox's «satisfied» link: its subquery, in each of the page's queries, reads only
those. SQLite: the second index, without the included columns.
"""

from django.db import migrations

from otklik.core.migration_sql import vendor_sql

CREATE = {
    "postgresql": (
        "DROP INDEX IF EXISTS stats_answer_final_published",
        "CREATE INDEX stats_answer_final_published ON answers_answer (published_at) "
        "INCLUDE (incident_id, id, previous_final_at, satisfied_after) WHERE kind = 'final' AND status = 'published'",
        "CREATE INDEX IF NOT EXISTS stats_answer_final_satisfied ON answers_answer (published_at) "
        "INCLUDE (incident_id, previous_final_at) WHERE kind = 'final' AND status = 'published' AND satisfied_after",
    ),
    "sqlite": (
        "CREATE INDEX IF NOT EXISTS stats_answer_final_satisfied ON answers_answer (published_at, incident_id) "
        "WHERE kind = 'final' AND status = 'published' AND satisfied_after",
    ),
}
DROP = {
    "postgresql": (
        "DROP INDEX IF EXISTS stats_answer_final_satisfied",
        "DROP INDEX IF EXISTS stats_answer_final_published",
        "CREATE INDEX stats_answer_final_published ON answers_answer (published_at) "
        "INCLUDE (incident_id, id) WHERE kind = 'final' AND status = 'published'",
    ),
    "sqlite": ("DROP INDEX IF EXISTS stats_answer_final_satisfied",),
}


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0005_answer_final_published_covering"),
        ("answers", "0003_answer_outcomes"),
    ]

    operations = [
        vendor_sql(CREATE, DROP),
    ]
