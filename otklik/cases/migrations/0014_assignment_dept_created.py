"""An index of the assignments by department and creation time, carrying their incident and status (PostgreSQL).

The inbox's «assigned to a department in a period» filter (a department's bar on the dashboard) reads a
department's assignments created in a period and their incidents; by `assignment_created` it read every
assignment of the period from the table to keep one department's (two months ten months back, the largest
department: 92,000 rows for 6,800, 33 ms just for the ids' bounds; docs/BENCHMARKS.md, seventh pass). Index-only
with this one. Not in `Assignment.Meta.indexes`: SQLite has no INCLUDE (Django warns about it on every check).
"""

from django.db import migrations

from otklik.core.migration_sql import vendor_sql

CREATE = (
    "CREATE INDEX IF NOT EXISTS assignment_dept_created ON cases_assignment (department_id, created_at) "
    "INCLUDE (incident_id, status)",
)
DROP = ("DROP INDEX IF EXISTS assignment_dept_created",)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_incident_channels_trigram_index"),
    ]

    operations = [
        vendor_sql({"postgresql": CREATE}, {"postgresql": DROP}),
    ]
