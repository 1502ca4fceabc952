"""An index of the incidents by their exact address, for the inbox's `address=` filter (issue 9).

The dashboard's places link to the inbox with `?address=<the address>`, an exact match: without an index of its own
the inbox's counters read every incident to find an address's few.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_scale_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["address"], name="incident_address_exact"),
        ),
    ]
