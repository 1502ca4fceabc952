"""The summary letter to the deputy head and the `report` command under the dashboard's filters (docs/DOCUMENTS.md,
docs/STATS.md): group, department, source by the stats API's rules."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.management import CommandError, call_command

from otklik.documents import letters
from otklik.stats.report import build_report
from otklik.stats.selectors import StatsFilters, compute_stats
from tests.documents.helpers import docx_text
from tests.stats.conftest import END, NOW, START

pytestmark = pytest.mark.django_db


def test_the_letters_figures_follow_the_filters(city, roads):
    with time_machine.travel(NOW, tick=False):
        everything = letters.summary_values(START, END)
        only_roads = letters.summary_values(START, END, filters=StatsFilters(department=roads))
        vk = letters.summary_values(START, END, filters=StatsFilters(channel="vk"))
        all_stats = compute_stats(START, END)
        roads_stats = compute_stats(START, END, StatsFilters(department=roads))
        vk_stats = compute_stats(START, END, StatsFilters(channel="vk"))
    assert all_stats.incidents != roads_stats.incidents  # the filter matters in the fixture
    assert everything["figures"].splitlines()[1].endswith(f": {all_stats.incidents}")
    # A filtered letter says so first, then the same figures under the filter.
    scope, *figures = only_roads["figures"].splitlines()
    assert roads.name in scope
    assert figures[1].endswith(f": {roads_stats.incidents}")
    assert figures[0].endswith(f": {roads_stats.posts}")
    assert vk["figures"].splitlines()[2].endswith(f": {vk_stats.incidents}")


def test_the_dashboard_links_the_letter_with_its_filters_and_the_letter_uses_them(client, city, director, roads):
    client.force_login(director)
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/dashboard/?period=custom&date_from={START}&date_to={END}&department={roads.pk}&source=vk")
    assert page.status_code == 200
    href = page.context["summary_letter_url"]
    assert f'href="{href.replace("&", "&amp;")}"' in page.content.decode()
    query = parse_qs(urlsplit(href).query)
    assert query == {"start": [str(START)], "end": [str(END)], "department": [str(roads.pk)], "source": ["vk"]}

    with time_machine.travel(NOW, tick=False):
        response = client.get(href)
        expected = compute_stats(START, END, StatsFilters(department=roads, channel="vk"))
        unfiltered = client.get(f"/documents/letters/summary/?start={START}&end={END}")
    assert response.status_code == 200
    text = docx_text(response.content)
    values = letters.summary_values(START, END, filters=StatsFilters(department=roads, channel="vk"))
    line = values["figures"].splitlines()[2]
    assert line.endswith(f": {expected.incidents}")
    assert line in text
    assert roads.name in text
    assert line not in docx_text(unfiltered.content)


def test_the_letter_refuses_an_unknown_filter(client, director):
    client.force_login(director)
    response = client.get("/documents/letters/summary/", {"group": "no such group"})
    assert response.status_code == 400
    response = client.get("/documents/letters/summary/", {"source": "fax"})
    assert response.status_code == 400


def test_the_report_command_takes_the_filters(city, roads, tmp_path, monkeypatch):
    from otklik.stats.management.commands import report as command  # noqa: PLC0415

    seen = []

    def spy(start, end, filters=None, **kwargs):
        seen.append(filters)
        return build_report(start, end, filters, **kwargs)

    monkeypatch.setattr(command, "build_report", spy)
    out = tmp_path / "note.xlsx"
    stdout = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(
            "report",
            *("--from", str(START), "--to", str(END), "--format", "xlsx", "--out", str(out)),
            *("--department", roads.name, "--source", "vk"),
            stdout=stdout,
        )
        expected = compute_stats(START, END, StatsFilters(department=roads, channel="vk"))
        everything = compute_stats(START, END)
    assert out.exists()
    assert expected.incidents != everything.incidents
    assert seen == [StatsFilters(department=roads, channel="vk")]
    assert f" {expected.incidents}, " in stdout.getvalue()


@pytest.mark.parametrize("option", [("--group", "no such group"), ("--department", "999999"), ("--source", "fax")])
def test_the_report_command_refuses_an_unknown_filter(db, tmp_path, option):
    out = tmp_path / "note.docx"
    with pytest.raises(CommandError):
        call_command("report", "--from", "2026-12-01", "--to", "2026-12-03", *option, "--out", str(out))
    assert not out.exists()
