"""Indexes for the inbox search over posts at city scale (PostgreSQL only; docs/BENCHMARKS.md, "At scale").

`otklik.cases.selectors.search_incidents` matches posts in two ways, each with an index whose expression is exactly
the one Django generates:
- the Russian full-text match `SearchVector("text", config="russian")`:
  `to_tsvector('russian'::regconfig, COALESCE("text", ''))` — a GIN index;
- the substring match `text__icontains`: `UPPER("text"::text) LIKE UPPER('%…%')` — a trigram GIN index (pg_trgm).
SQLite has neither; the migration does nothing there.
"""

from django.db import migrations

CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS intake_post_text_fts ON intake_post "
    "USING gin (to_tsvector('russian'::regconfig, COALESCE(\"text\", '')))",
    'CREATE INDEX IF NOT EXISTS intake_post_text_trgm ON intake_post USING gin ((UPPER("text"::text)) gin_trgm_ops)',
)
DROP = ("DROP INDEX IF EXISTS intake_post_text_fts", "DROP INDEX IF EXISTS intake_post_text_trgm")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0005_post_personal_data_removed_at"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
