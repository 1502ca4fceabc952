"""An index of the incidents by their exact address, for the inbox's `address=` filter (issue 9).

The dashboard's places link to the inbox with `?address=<the address>`, an exact match: without an index of its own
the inbox's counters read every incident to find an address's few. Raw SQL (like 0005's trigram index) so that the
models' state stays as it is; the index is plain and works on SQLite as well.
"""

from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS incident_address_exact ON cases_incident (address)"
DROP = "DROP INDEX IF EXISTS incident_address_exact"


def create(apps, schema_editor):
    schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_scale_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
