"""Each dashboard figure clicks through to the inbox listing exactly the incidents behind it (docs/STATS.md).

The ids of the inbox's XLSX export (every row, all pages) are compared with ids worked out here from the raw rows:
incidents, clocks and events of the `city` fixture.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from openpyxl import load_workbook

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Event, Incident
from otklik.cases.services import do_update_incident, refresh_from_posts
from otklik.intake.models import Post
from otklik.satisfaction.choices import Verdict
from otklik.satisfaction.models import FollowUp
from otklik.sla.choices import ClockKind, ClockState
from otklik.sla.models import Clock
from otklik.stats.selectors import compute_stats, percentile, place_mood
from tests.stats.conftest import END, NOW, START, _post, at

pytestmark = pytest.mark.django_db

PERIOD = "?period=custom&date_from=2026-12-01&date_to=2026-12-03"
SINCE, UNTIL = at(2026, 12, 1, 0, 0), at(2026, 12, 4, 0, 0)
END_DAY = at(2026, 12, 3, 0, 0)  # one city day before UNTIL


def dashboard(client, user):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/dashboard/{PERIOD}")
    assert response.status_code == 200
    return response


def tile_href(response, index: int) -> str:
    """The link of the tile at `index` (posts, incidents, answered, on time, …, reopened at 8); it is in the page."""
    href = response.context["tiles"][index].href
    assert href.replace("&", "&amp;") in response.content.decode()
    return href


def listed_ids(client, href: str) -> set[int]:
    """The incident numbers of the inbox's XLSX export of `href` (every row of the list)."""
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"{href}&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    return {row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] is not None}


def period_incidents() -> list[Incident]:
    return [i for i in Incident.objects.all() if SINCE <= i.created_at < UNTIL and i.status != IncidentStatus.MERGED]


def judgement(incident: Incident) -> str | None:
    """'on_time', 'late' or None, by hand from the incident's own answer clocks."""
    kinds = (ClockKind.FIRST_ANSWER, ClockKind.ANSWER, ClockKind.FINAL_ANSWER)
    clocks = [c for c in Clock.objects.filter(incident=incident, assignment=None) if c.kind in kinds]
    late = any(
        c.state == ClockState.MISSED or (c.state == ClockState.RUNNING and c.due_at is not None and c.due_at < NOW)
        for c in clocks
    )
    met = any(c.state == ClockState.MET for c in clocks)
    return "late" if late else "on_time" if met else None


def test_incidents_answered_on_time_and_reopened_tiles_list_exactly_their_incidents(client, city, director):
    response = dashboard(client, director)
    stats = response.context["stats"]
    incidents = period_incidents()
    expected_incidents = {i.pk for i in incidents}
    expected_answered = {i.pk for i in incidents if i.answered_at is not None}
    expected_on_time = {i.pk for i in incidents if judgement(i) == "on_time"}
    reopened_events = set(Event.objects.filter(verb=EventVerb.REOPENED).values_list("incident_id", flat=True))
    expected_reopened = expected_answered & reopened_events

    # The fixture is what its docstring says (so the comparisons below are not empty).
    names = {pk: name for name, i in city.incidents.items() for pk in [i.pk]}
    assert {names[pk] for pk in expected_incidents} == {"a1", "a2", "a3", "a4", "a5"}
    assert {names[pk] for pk in expected_answered} == {"a1", "a2"}
    assert {names[pk] for pk in expected_reopened} == {"a1"}
    assert expected_on_time

    assert listed_ids(client, tile_href(response, 1)) == expected_incidents
    assert len(expected_incidents) == stats.incidents
    assert listed_ids(client, tile_href(response, 2)) == expected_answered
    assert len(expected_answered) == stats.answered
    assert listed_ids(client, tile_href(response, 3)) == expected_on_time
    assert len(expected_on_time) == stats.on_time
    assert listed_ids(client, tile_href(response, 8)) == expected_reopened
    assert len(expected_reopened) == stats.reopened


def test_the_late_filter_is_the_complement_among_the_judged(client, city, director):
    client.force_login(director)
    href = f"/inbox/?view=all&date_from={START}&date_to={END}&merged=0"
    late = {i.pk for i in period_incidents() if judgement(i) == "late"}
    assert late
    assert listed_ids(client, f"{href}&on_time=0") == late


def test_the_merged_incident_is_left_out_only_with_merged_0(client, city, director):
    client.force_login(director)
    href = f"/inbox/?view=all&date_from={START}&date_to={END}"
    assert city.incidents["a6"].pk in listed_ids(client, href)
    assert city.incidents["a6"].pk not in listed_ids(client, f"{href}&merged=0")


def test_hidden_filters_show_as_removable_chips(client, city, director):
    client.force_login(director)
    with time_machine.travel(NOW, tick=False):
        html = client.get(f"/inbox/?view=all&date_from={START}&merged=0&answered=1&reopened=1").content.decode()
    assert html.count("data-filter-chip>") == 3
    # Each chip's link drops its own filter and keeps the others.
    links = [
        parse_qs(urlsplit(part.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")).query)
        for part in html.split("data-filter-chip>")[1:]
    ]
    assert [sorted(k for k in ("merged", "answered", "reopened") if k in q) for q in links] == [
        ["merged", "reopened"],
        ["answered", "merged"],
        ["answered", "reopened"],
    ]
    # The hidden inputs keep the filters when another filter changes.
    assert 'name="answered" value="1"' in html


# --- mood per place ---------------------------------------------------------------------------------------------


def mood_by_hand(since, until) -> dict[str, tuple[int, int]]:
    """(posts, negative) per place from the raw posts: the incident's territory, else its address."""
    result: dict[str, tuple[int, int]] = {}
    for post in Post.objects.select_related("incident__territory"):
        incident = post.incident
        if incident is None or not (since <= post.posted_at < until):
            continue
        place = incident.territory.name if incident.territory else incident.address
        if not place:
            continue
        n, negative = result.get(place, (0, 0))
        result[place] = (n + 1, negative + (1 if (post.negative or 0) >= 0.5 else 0))
    return result


def test_mood_per_place_against_its_baseline(city, operator):
    # A baseline for «Центральный»: one negative post there in the 28 days before the period.
    earlier = _post("base", at(2026, 11, 15, 10, 0), negative=0.9)
    with time_machine.travel(at(2026, 11, 15, 10, 5), tick=False):
        do_update_incident(earlier, actor=operator, territory=city.centre)

    rows = {r.name: r for r in place_mood(START, END, min_posts=1)}

    current = mood_by_hand(SINCE, UNTIL)
    baseline = mood_by_hand(at(2026, 11, 3, 0, 0), SINCE)
    assert current == {"Центральный": (3, 1), "ул. Мира, 1": (1, 1)}  # a1, a2 and a6 (merged into a1); a3
    assert {name: (r.posts, r.negative) for name, r in rows.items()} == current
    assert (rows["Центральный"].baseline_posts, rows["Центральный"].baseline_negative) == baseline["Центральный"]
    assert rows["Центральный"].baseline_share == 1.0
    assert rows["Центральный"].territory_id == city.centre.pk
    assert rows["ул. Мира, 1"].territory_id is None
    assert [r.name for r in place_mood(START, END, min_posts=1)] == ["ул. Мира, 1", "Центральный"]  # most negative
    assert [r.name for r in place_mood(START, END, min_posts=2)] == ["Центральный"]


def test_the_dashboard_table_links_each_place_to_its_incidents(client, city, director, settings):
    settings.DEBUG = False
    response = dashboard(client, director)
    html = response.content.decode()
    assert "data-place-mood" in html
    rows = {item["row"].name: item["href"] for item in response.context["place_rows"]}
    assert list(rows) == ["Центральный"]  # «ул. Мира, 1» has one post, fewer than the minimum
    assert rows["Центральный"].replace("&", "&amp;") in html
    expected = {i.pk for i in period_incidents() if i.territory_id == city.centre.pk}
    assert {city.incidents["a1"].pk, city.incidents["a2"].pk} == expected
    assert listed_ids(client, rows["Центральный"]) == expected


def test_an_address_link_lists_the_incidents_at_that_address(client, city, director):
    client.force_login(director)
    stats = compute_stats(START, END, now=NOW)
    assert stats.incidents == 5
    href = f"/inbox/?view=all&date_from={START}&date_to={END}&merged=0&address=ул.+Мира,+1"
    assert listed_ids(client, href) == {city.incidents["a3"].pk}


# --- posts, negative posts, answer times and satisfied ------------------------------------------------------------


def _reply(incident: Incident, name: str, when, *, negative: float | None = None) -> Post:
    """Another post of `incident` written at `when` (a copy of its first post)."""
    post = Post.objects.filter(incident=incident).order_by("pk").first()
    assert post is not None
    post.pk = None
    post.external_id = name
    post.posted_at = when
    post.negative = negative
    post.save()
    refresh_from_posts([incident.pk])  # as intake keeps an incident's channels and last post time
    return post


def first_final(incident: Incident):
    """The first final answer of `incident` published in the period, by hand (None: none)."""
    times = sorted(
        a.published_at
        for a in Answer.objects.filter(incident=incident)
        if a.kind == AnswerKind.FINAL
        and a.status == AnswerStatus.PUBLISHED
        and a.published_at is not None
        and SINCE <= a.published_at < UNTIL
    )
    return times[0] if times else None


def satisfied_by_hand(incident: Incident, answered) -> bool:
    reopened = any(e.created_at >= answered for e in Event.objects.filter(incident=incident, verb=EventVerb.REOPENED))
    happy = any(f.created_at >= answered for f in FollowUp.objects.filter(incident=incident, verdict=Verdict.SATISFIED))
    return happy and not reopened


def test_posts_negative_answer_time_and_satisfied_tiles_list_exactly_their_incidents(client, city, director):
    # A negative reply in the period to an incident created before it: its incident is behind «Posts» and
    # «Negative posts», not behind the period's incidents.
    _reply(city.incidents["old"], "old-reply", at(2026, 12, 2, 14, 0), negative=0.7)
    # A satisfied reply after a2's final answer; one after a1's first final answer (a1 was reopened afterwards).
    for name, when in (("a2", at(2026, 12, 3, 11, 30)), ("a1", at(2026, 12, 1, 12, 0))):
        reply = _reply(city.incidents[name], f"{name}-thanks", when)
        FollowUp.objects.create(
            incident=city.incidents[name], post=reply, verdict=Verdict.SATISFIED, confidence=0.9, created_at=when
        )

    response = dashboard(client, director)
    stats = response.context["stats"]
    in_period = [p for p in Post.objects.all() if SINCE <= p.posted_at < UNTIL]
    expected_posts = {p.incident_id for p in in_period if p.incident_id is not None}
    expected_negative = {p.incident_id for p in in_period if p.incident_id is not None and (p.negative or 0) >= 0.5}
    incidents = period_incidents()
    expected_first = {i.pk for i in incidents if i.first_answered_at is not None}
    expected_final = {i.pk for i in incidents if i.answered_at is not None}
    population = {
        i.pk: answered
        for i in Incident.objects.exclude(status=IncidentStatus.MERGED)
        if (answered := first_final(i)) is not None
    }
    expected_satisfied = {pk for pk, answered in population.items() if satisfied_by_hand(Incident(pk=pk), answered)}

    names = {i.pk: name for name, i in city.incidents.items()}
    assert {names[pk] for pk in expected_posts} == {"old", "a1", "a2", "a3", "a4", "a5"}  # a6's post moved to a1
    assert {names[pk] for pk in expected_negative} == {"old", "a1", "a3"}
    assert {names[pk] for pk in expected_first} == {"a1", "a2"}
    assert {names[pk] for pk in expected_final} == {"a1", "a2"}
    assert {names[pk] for pk in expected_satisfied} == {"a2"}

    assert listed_ids(client, tile_href(response, 0)) == expected_posts
    assert response.context["tiles"][0].link_label
    assert listed_ids(client, tile_href(response, 11)) == expected_negative
    assert listed_ids(client, tile_href(response, 4)) == expected_first
    assert listed_ids(client, tile_href(response, 5)) == expected_final
    assert listed_ids(client, tile_href(response, 7)) == expected_satisfied
    assert (len(expected_satisfied), len(population)) == (stats.satisfied, stats.satisfaction_total)
    # The listed incidents' times make the medians shown.
    first_hours = [
        (i.first_answered_at - i.created_at).total_seconds() / 3600 for i in incidents if i.pk in expected_first
    ]
    final_hours = [(i.answered_at - i.created_at).total_seconds() / 3600 for i in incidents if i.pk in expected_final]
    assert percentile(first_hours, 0.5) == pytest.approx(stats.first_answer.median_calendar_hours)
    assert percentile(final_hours, 0.5) == pytest.approx(stats.final_answer.median_calendar_hours)


def test_the_new_filters_show_as_chips_and_keep_their_hidden_inputs(client, city, director):
    client.force_login(director)
    query = (
        "/inbox/?view=all&posts_from=2026-12-01&posts_to=2026-12-03&negative=1&first_answered=1"
        "&final_from=2026-12-01&final_to=2026-12-03&satisfied=1"
    )
    with time_machine.travel(NOW, tick=False):
        html = client.get(query).content.decode()
    assert html.count("data-filter-chip>") == 5
    links = [
        parse_qs(urlsplit(part.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")).query)
        for part in html.split("data-filter-chip>")[1:]
    ]
    names = ("posts_from", "negative", "first_answered", "final_from", "satisfied")
    dropped = [sorted(n for n in names if n not in q) for q in links]
    assert dropped == [["negative"], ["first_answered"], ["satisfied"], ["posts_from"], ["final_from"]]
    for name in ("posts_from", "posts_to", "final_from", "final_to"):
        assert f'name="{name}" value="2026-12-0' in html
    assert 'name="satisfied" value="1"' in html


def test_the_posts_window_is_in_city_days(client, city, director):
    client.force_login(director)
    # a4 was written on 2 December at 09:00 city time: on the 2nd, not on the 1st or the 3rd.
    a4 = city.incidents["a4"].pk
    assert a4 in listed_ids(client, "/inbox/?view=all&posts_from=2026-12-02&posts_to=2026-12-02")
    assert a4 not in listed_ids(client, "/inbox/?view=all&posts_from=2026-12-03&posts_to=2026-12-03")
    assert a4 not in listed_ids(client, "/inbox/?view=all&posts_to=2026-12-01")


# --- departments' bars and mood points ----------------------------------------------------------------------------


def _page_href(response, href: str) -> str:
    """`href` as a link in the page (the charts are inline SVG)."""
    assert f'href="{href.replace("&", "&amp;")}"' in response.content.decode()
    return href


def test_a_department_bar_lists_the_incidents_of_all_its_assignments_in_the_period(
    client, city, director, housing, roads
):
    from otklik.cases.choices import AssignmentRole, AssignmentStatus  # noqa: PLC0415
    from otklik.cases.models import Assignment  # noqa: PLC0415

    # Roads as a co-executor on a1 (counted), a cancelled roads assignment on a2 and one created before the period
    # on «old» (both left out).
    extra = [
        (city.incidents["a1"], AssignmentRole.CO, AssignmentStatus.SENT, at(2026, 12, 2, 10, 0)),
        (city.incidents["a2"], AssignmentRole.CO, AssignmentStatus.CANCELLED, at(2026, 12, 2, 10, 0)),
        (city.incidents["old"], AssignmentRole.CO, AssignmentStatus.SENT, at(2026, 11, 20, 10, 0)),
    ]
    for incident, role, status, created in extra:
        assignment = Assignment.objects.create(incident=incident, department=roads, role=role, status=status)
        Assignment.objects.filter(pk=assignment.pk).update(created_at=created)

    response = dashboard(client, director)
    rows = {r.department_id: r for r in response.context["stats"].by_department}
    for department in (housing, roads):
        expected = {
            a.incident_id
            for a in Assignment.objects.filter(department=department)
            if SINCE <= a.created_at < UNTIL and a.status != AssignmentStatus.CANCELLED
        }
        assert rows[department.pk].assignments == len(
            [
                a
                for a in Assignment.objects.filter(department=department)
                if SINCE <= a.created_at < UNTIL and a.status != AssignmentStatus.CANCELLED
            ]
        )
        href = _page_href(
            response,
            f"/inbox/?view=all&assigned_to={department.pk}&assigned_from=2026-12-01&assigned_to_date=2026-12-03",
        )
        assert listed_ids(client, href) == expected
    names = {i.pk: name for name, i in city.incidents.items()}
    roads_href = f"/inbox/?view=all&assigned_to={roads.pk}&assigned_from=2026-12-01&assigned_to_date=2026-12-03"
    assert {names[pk] for pk in listed_ids(client, roads_href)} == {"a1", "a3", "a4"}  # not a2, not «old»

    # The chip names the department and drops the three parameters; the hidden inputs keep them.
    with time_machine.travel(NOW, tick=False):
        html = client.get(roads_href).content.decode()
    assert html.count("data-filter-chip>") == 1
    chip = html.split("data-filter-chip>")[1]
    assert roads.name in chip.split("<a", 1)[0]
    query = parse_qs(urlsplit(chip.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")).query)
    assert not {"assigned_to", "assigned_from", "assigned_to_date"} & set(query)
    assert f'name="assigned_to" value="{roads.pk}"' in html
    assert 'name="assigned_to_date" value="2026-12-03"' in html


def test_a_mood_point_lists_the_incidents_of_that_days_negative_posts(client, city, director):
    _reply(city.incidents["old"], "old-reply", at(2026, 12, 2, 14, 0), negative=0.7)
    response = dashboard(client, director)
    mood = {d.day: d for d in response.context["stats"].mood}
    seen_any = False
    for day in mood:
        since = at(day.year, day.month, day.day, 0, 0)
        until = since + (UNTIL - END_DAY)
        posts = [p for p in Post.objects.all() if since <= p.posted_at < until]
        negative = [p for p in posts if (p.negative or 0) >= 0.5]
        assert (mood[day].posts, mood[day].negative) == (len(posts), len(negative))
        if not posts:  # no share, no point
            continue
        href = _page_href(
            response, f"/inbox/?view=all&posts_from={day.isoformat()}&posts_to={day.isoformat()}&negative=1"
        )
        expected = {p.incident_id for p in negative if p.incident_id is not None}
        seen_any = seen_any or bool(expected)
        assert listed_ids(client, href) == expected
    assert seen_any


def test_under_a_department_filter_the_bar_drops_the_lead_department_filter(client, city, director, roads):
    client.force_login(director)
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/dashboard/{PERIOD}&department={roads.pk}&source=vk")
    href = _page_href(
        response,
        f"/inbox/?view=all&channel=vk&assigned_to={roads.pk}&assigned_from=2026-12-01&assigned_to_date=2026-12-03",
    )
    assert "&department=" not in href
    row = next(r for r in response.context["stats"].by_department if r.department_id == roads.pk)
    assert row.assignments >= 1
    assert listed_ids(client, href)
