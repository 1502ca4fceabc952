"""The executor's desk counts each tab once: the paginator's count of the tab shown is its badge (issue 9)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.cases.models import Assignment
from otklik.cases.services import do_route, do_submit_information
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def badges(content: str) -> list[str]:
    import re

    return re.findall(r'<span class="badge text-bg-light">(\d+)</span>', content)


@pytest.mark.parametrize("tab", ["open", "done"])
def test_each_tab_is_counted_once_and_the_badges_are_right(client, operator, executor, housing, tab):
    for n in range(3):
        do_route(ingest(f"Течёт крыша, дом {n}", author_id=f"d{n}"), actor=operator, lead=housing)
    done = Assignment.objects.order_by("pk").first()
    assert done is not None
    do_submit_information(done, actor=executor, text="Крышу починили 12 мая.")
    client.force_login(executor)
    url = f"/assignments/?tab={tab}"
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    counts = [
        q
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "cases_assignment"')
    ]
    assert len(counts) == 2, [q["sql"][:160] for q in counts]  # the tab shown (the paginator) and the other tab
    assert badges(response.content.decode())[:2] == ["2", "1"]  # 2 to do, 1 answered
