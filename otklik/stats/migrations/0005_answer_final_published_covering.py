"""The published final answers' index also carries the answer's id (PostgreSQL only).

`stats_answer_final_published` (stats 0002) carried `incident_id`; the satisfaction figures and the inbox's
«final answer» / «satisfied» filters also read the answer's `id` (an incident's first final answer: ties by id), so
each answer in the period was read from the table too. With the id in the index both scans are index-only (1M posts,
two months' final answers ten months back, the satisfied ones: 276 → 184 ms; docs/BENCHMARKS.md, seventh pass).
Built in about a second for 800,000 answers. SQLite's index is unchanged.
"""

from django.db import migrations

from otklik.core.migration_sql import vendor_sql

CREATE = (
    "DROP INDEX IF EXISTS stats_answer_final_published",
    "CREATE INDEX stats_answer_final_published ON answers_answer (published_at) "
    "INCLUDE (incident_id, id) WHERE kind = 'final' AND status = 'published'",
)
DROP = (
    "DROP INDEX IF EXISTS stats_answer_final_published",
    "CREATE INDEX stats_answer_final_published ON answers_answer (published_at) "
    "INCLUDE (incident_id) WHERE kind = 'final' AND status = 'published'",
)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0004_figure_snapshot_json"),
    ]

    operations = [
        vendor_sql({"postgresql": CREATE}, {"postgresql": DROP}),
    ]
