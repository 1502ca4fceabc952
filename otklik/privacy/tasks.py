"""The daily removal of personal data past the retention period (docs/SECURITY.md, "Personal data")."""

from __future__ import annotations

from otklik.ops.recording import recorded_task
from otklik.privacy.services import do_remove_expired_personal_data


@recorded_task(periodic=True)
def remove_expired_personal_data() -> dict[str, int]:
    """Idempotent: posts are claimed one by one with a conditional UPDATE; a second run finds nothing to do."""
    result = do_remove_expired_personal_data()
    return {
        "posts": result.posts,
        "surveys": result.surveys,
        "threads": result.threads,
        "import_rows": result.import_rows,
    }
