"""The posts' Russian full-text vector stored in a generated column (PostgreSQL only).

`otklik.cases.selectors.PostTextMatches` matches a post by `search_tsv @@ websearch_to_tsquery(…) OR` the
substring test of the trigram index. With the vector computed by an index expression (intake 0006), a page the
trigram index flagged was rechecked by stemming each text again, so the two matches had to be two scans of the same
pages; a stored vector makes the recheck cheap and the two one scan (docs/BENCHMARKS.md, "Issue 9, sixth pass").
The column's GIN index replaces the expression index `intake_post_text_fts` (same entries).

PostgreSQL keeps the column itself (`GENERATED ALWAYS … STORED`): every insert and every change of the text
(the masking of personal data included) recomputes it; no code writes it, and it is not a model field. Adding it
rewrites the posts table under an exclusive lock: ~2.5 min per million posts (docs/DEPLOY.md, upgrades). SQLite has
no full-text vector; the migration does nothing there.
"""

from django.db import migrations

CREATE = (
    "ALTER TABLE intake_post ADD COLUMN IF NOT EXISTS search_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, COALESCE(\"text\", ''))) STORED",
    "CREATE INDEX IF NOT EXISTS intake_post_search_tsv ON intake_post USING gin (search_tsv)",
    "DROP INDEX IF EXISTS intake_post_text_fts",
)
DROP = (
    "CREATE INDEX IF NOT EXISTS intake_post_text_fts ON intake_post "
    "USING gin (to_tsvector('russian'::regconfig, COALESCE(\"text\", '')))",
    "DROP INDEX IF EXISTS intake_post_search_tsv",
    "ALTER TABLE intake_post DROP COLUMN IF EXISTS search_tsv",
)


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
        ("intake", "0008_analysis_ticket"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
