"""An index of the posts by source and incident, for the inbox's «source» filter at city scale (issue 9).

The filter keeps the incidents having a post from one of the channel's sources. With this index the incidents of a
small channel are read from the index alone (a few thousand entries) instead of probing the posts of every
incident, and a large one's are walked in incident order.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0006_post_search_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="post",
            index=models.Index(fields=["source", "incident"], name="intake_post_source_incident"),
        ),
    ]
