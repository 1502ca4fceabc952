"""A trigram index on the incident's channels (PostgreSQL only), for the inbox's «source» filter of a rare channel.

The filter tests `channels LIKE '%,email,%'` (`channel_mark`). For a frequent channel the list and its capped count
walk the newest incidents (`incident_created_id`) and stop early; for a channel that few incidents have (an e-mail
channel, the API), or none yet, they had nothing to stop them and read the whole table: ~120 ms at 700,000
incidents on a fast machine, twice that on a slow one. With this index PostgreSQL finds the few rows by the
channel's trigrams (1 ms); it keeps the walk for the frequent channels, whose share it knows from the column's
statistics (docs/BENCHMARKS.md, «Issue 9, seventh pass»). The index is small (~5 MB at 700,000 incidents) and is
built in about a second. SQLite has no trigram index; the migration does nothing there.
"""

from django.db import migrations

from otklik.core.migration_sql import vendor_sql

CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS incident_channels_trgm ON cases_incident USING gin (channels gin_trgm_ops)",
)
DROP = ("DROP INDEX IF EXISTS incident_channels_trgm",)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_incident_single_column_indexes"),
    ]

    operations = [
        vendor_sql({"postgresql": CREATE}, {"postgresql": DROP}),
    ]
