"""Indexes for the director's figures at city scale (docs/STATS.md, "Speed"; issue 9).

The dashboard reads the posts written in the period and the 28 days before it (`posts`, the mood index and its
baseline, the mood by place) and the final answers published in the period (`satisfied_share`). Neither column had
an index, so each of these queries read the whole table (1M posts, 800,000 answers). The indexes live on the
tables of `intake` and `answers` but serve only these figures, so they are made here, by name, with raw SQL (the
models do not declare them; `IF NOT EXISTS` lets the owning app adopt them later under the same name):

- `stats_post_posted_at`: the posts by `posted_at`; on PostgreSQL it also carries the columns the figures read
  (`incident_id`, `source_id`, `negative`), so the counts are index-only scans;
- `stats_answer_final_published`: the published final answers by `published_at` (a partial index: the other
  answers are never counted by time).
"""

from django.db import migrations

CREATE = {
    "postgresql": (
        "CREATE INDEX IF NOT EXISTS stats_post_posted_at ON intake_post (posted_at) "
        "INCLUDE (incident_id, source_id, negative)",
        "CREATE INDEX IF NOT EXISTS stats_answer_final_published ON answers_answer (published_at) "
        "INCLUDE (incident_id) WHERE kind = 'final' AND status = 'published'",
    ),
    "sqlite": (
        "CREATE INDEX IF NOT EXISTS stats_post_posted_at ON intake_post (posted_at)",
        "CREATE INDEX IF NOT EXISTS stats_answer_final_published ON answers_answer (published_at, incident_id) "
        "WHERE kind = 'final' AND status = 'published'",
    ),
}
DROP = ("DROP INDEX IF EXISTS stats_post_posted_at", "DROP INDEX IF EXISTS stats_answer_final_published")


def create(apps, schema_editor):
    for sql in CREATE.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor in CREATE:
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_initial"),
        ("intake", "0006_post_search_indexes"),
        ("answers", "0002_quality_versions_templates_outbox"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
