"""An index of the posts by source and incident, for the inbox's «source» filter at city scale (issue 9).

The filter keeps the incidents having a post from one of the channel's sources. With this index the incidents of a
small channel are read from the index alone (a few thousand entries) instead of probing the posts of every
incident, and a large one's are walked in incident order. Raw SQL (like 0006) so that the models' state stays as it
is; the index is plain and works on SQLite as well.
"""

from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS intake_post_source_incident ON intake_post (source_id, incident_id)"
DROP = "DROP INDEX IF EXISTS intake_post_source_incident"


def create(apps, schema_editor):
    schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0006_post_search_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
