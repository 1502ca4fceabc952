"""The information note (otklik/stats/report.py) on the hand-built city (tests/stats/conftest.py): its numbers against
the raw rows, the DOCX and XLSX files, masked examples, proposals, the command, the weekly e-mail and who may do
what."""

from __future__ import annotations

import datetime as dt
import io
import statistics

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from docx import Document
from openpyxl import load_workbook

from otklik.cases.models import Assignment, Event, Incident
from otklik.cases.services import do_classify
from otklik.core.worktime import get_calendar
from otklik.intake.models import Post
from otklik.org.models import Topic
from otklik.satisfaction.choices import Verdict
from otklik.satisfaction.models import FollowUp
from otklik.sla.models import Clock
from otklik.sla.scorecard import period_bounds
from otklik.stats.delivery import last_week, send_weekly_reports
from otklik.stats.models import DeliveryStatus, ReportDelivery, ReportSubscription
from otklik.stats.report import Thresholds, build_report, mask_personal_data, render_docx, render_xlsx
from otklik.stats.selectors import StatsFilters, compute_stats
from tests.stats.conftest import END, NOW, START, at, ingest

pytestmark = pytest.mark.django_db

PERSONAL = (
    "Я, Иванов Иван Иванович, проживаю: ул. Мира, 1, кв. 15. Яма у подъезда третью неделю! "
    "Звоните +7 912 345-67-89 или 8 (3466) 41-20-30, пишите ivanov.ivan@mail.ru"
)


def naive(start: dt.date, end: dt.date) -> dict:
    """The figures straight from the rows, loaded and judged in Python (not through the selectors)."""
    since, until = period_bounds(start, end)
    incidents = [i for i in Incident.objects.all() if since <= i.created_at < until and i.status != "merged"]
    clocks = [c for c in Clock.objects.all() if c.assignment_id is None]

    def late(i) -> bool:
        return any(
            c.incident_id == i.pk and (c.state == "missed" or (c.state == "running" and c.due_at < NOW)) for c in clocks
        )

    def met(i) -> bool:
        return any(c.incident_id == i.pk and c.state == "met" for c in clocks)

    answered = [i for i in incidents if i.answered_at is not None]
    reopened = {e.incident_id for e in Event.objects.filter(verb="reopened")}
    posts = [p for p in Post.objects.all() if since <= p.posted_at < until]
    assignments = [a for a in Assignment.objects.all() if since <= a.created_at < until and a.status != "cancelled"]
    judged = [i for i in incidents if late(i) or met(i)]
    open_statuses = {"new", "triage", "routed", "answering", "approval"}
    calendar = get_calendar()
    departments: dict[str, dict] = {}
    for a in assignments:
        row = departments.setdefault(
            a.department.name, {"assignments": 0, "rework": 0, "declined": 0, "on_time": 0, "late": 0, "hours": []}
        )
        row["assignments"] += 1
        row["rework"] += a.rework_comments.exists()
        row["declined"] += a.status == "declined"
        done = a.submitted_at or (a.updated_at if a.status == "declined" else None)
        if a.due_at is not None:
            if done is not None:
                row["on_time" if done <= a.due_at else "late"] += 1
            elif a.due_at < NOW:
                row["late"] += 1
        if a.submitted_at is not None:
            row["hours"].append(calendar.between(a.created_at, a.submitted_at).total_seconds() / 3600)
    return {
        "posts": len(posts),
        "incidents": len(incidents),
        "answered": len(answered),
        "on_time_share": sum(1 for i in judged if not late(i)) / len(judged),
        "overdue_now": sum(
            1 for i in Incident.objects.all() if i.status in open_statuses and i.due_at is not None and i.due_at < NOW
        ),
        "reopened_share": sum(1 for i in answered if i.pk in reopened) / len(answered),
        "rework_share": sum(r["rework"] for r in departments.values()) / len(assignments),
        "not_competent_share": sum(r["declined"] for r in departments.values()) / len(assignments),
        "negative_share": sum(1 for p in posts if p.negative is not None and p.negative >= 0.5) / len(posts),
        "departments": departments,
    }


def report(**kwargs):
    return build_report(START, END, now=NOW, **kwargs)


# --- the numbers --------------------------------------------------------------------------------------------------


def test_the_report_figures_equal_a_naive_count_over_the_raw_rows(city):
    expected = naive(START, END)
    figures = {f.key: f.value for f in report().figures}

    for key in (
        "posts",
        "incidents",
        "answered",
        "on_time_share",
        "overdue_now",
        "reopened_share",
        "rework_share",
        "not_competent_share",
        "negative_share",
    ):
        assert figures[key] == pytest.approx(expected[key]), key
    # The hand-worked values of tests/stats/test_figures.py, so the naive count cannot drift with the selectors.
    assert (figures["incidents"], figures["answered"], figures["overdue_now"]) == (5, 2, 3)
    assert figures["first_answer_median_hours"] == pytest.approx(3.75)
    assert figures["final_answer_median_calendar_hours"] == pytest.approx(37.5)


def test_the_department_table_equals_the_raw_assignments(city):
    expected = naive(START, END)["departments"]
    lines = {d.department: d for d in report().departments}

    assert set(lines) == set(expected) == {city.housing.name, city.roads.name}
    for name, row in expected.items():
        line = lines[name]
        assert line.assignments == row["assignments"]
        assert line.rework_share == row["rework"] / row["assignments"]
        assert line.not_competent_share == row["declined"] / row["assignments"]
        assert line.on_time_share == row["on_time"] / (row["on_time"] + row["late"])
        if row["hours"]:
            assert line.information_median_hours == pytest.approx(statistics.median(row["hours"]))
        else:
            assert line.information_median_hours is None
    # Housing: a1 informed 09:05 → 10:00, a2 10:05 → 16:00 (lunch 13–14 left out): median (55 + 295) / 2 min.
    assert lines[city.housing.name].information_median_hours == pytest.approx(350 / 2 / 60)
    assert lines[city.roads.name].information_median_hours is None  # a3 declined, a4 never informed


def test_satisfied_share_counts_the_incidents_answered_in_the_period(city):
    # a1: its first final answer (1 Dec) was followed by a reopening; a2: no reaction yet.
    assert compute_stats(START, END, now=NOW).satisfied_share == 0.0

    a2 = city.incidents["a2"]
    original = Post.objects.filter(incident=a2).first()
    reply = Post.objects.create(
        source=original.source,
        external_id="a2-reply",
        text="Спасибо, убрали!",
        posted_at=at(2026, 12, 3, 11, 30),
        incident=a2,
    )
    FollowUp.objects.create(
        incident=a2, post=reply, verdict=Verdict.SATISFIED, confidence=0.9, created_at=at(2026, 12, 3, 11, 30)
    )

    stats = compute_stats(START, END, now=NOW)
    assert (stats.satisfied, stats.satisfaction_total) == (1, 2)
    assert stats.satisfied_share == 0.5
    # The filters narrow the population: roads answered nothing; a follow-up before the answer does not count.
    assert compute_stats(START, END, StatsFilters(group=city.roads_group), now=NOW).satisfied_share is None
    assert compute_stats(START, START, now=NOW).satisfied_share == 0.0  # 1 Dec: a1 only (reopened)


# --- the files ----------------------------------------------------------------------------------------------------


def docx_tables(content: bytes) -> dict[str, list[list[str]]]:
    document = Document(io.BytesIO(content))
    return {table.rows[0].cells[0].text: [[c.text for c in r.cells] for r in table.rows] for table in document.tables}


def test_the_docx_opens_and_holds_the_tables_with_the_numbers(city):
    r = report()
    content = render_docx(r)

    document = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert r.title in text and "01.12.2026" in text and "03.12.2026" in text
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert len(headings) == 6  # figures, departments, problems, spikes, overdue, proposals
    tables = document.tables
    assert len(tables) == 5  # no spikes in the period: a sentence instead of a table
    figures = {row[0]: row[1] for row in [[c.text for c in r.cells] for r in tables[0].rows][1:]}
    labels = {f.key: f.label for f in r.figures}
    assert figures[labels["incidents"]] == "5"
    assert figures[labels["on_time_share"]] == "50 %"
    assert figures[labels["overdue_now"]] == "3"
    assert figures[labels["first_answer_median_hours"]] == "3,8"
    assert all(run.bold for cell in tables[0].rows[0].cells for run in cell.paragraphs[0].runs)
    departments = [[c.text for c in row.cells] for row in tables[1].rows]
    assert departments[1:] == [
        [city.roads.name, "2", "50 %", "0 %", "50 %", "—"],
        [city.housing.name, "2", "100 %", "50 %", "0 %", "2,9"],
    ]
    overdue = [[c.text for c in row.cells] for row in tables[3].rows][1:]
    assert [row[0] for row in overdue] == [f"#{i.pk}" for i in (city.incidents[k] for k in ("old", "a3", "a4"))]
    assert overdue[2][5] == city.roads.name  # a4: roads' assignment waits past due
    assert len(tables[4].rows) == 1 + len(r.proposals)


def test_the_xlsx_has_one_sheet_per_table_with_bold_headers_and_numbers(city):
    r = report()
    workbook = load_workbook(io.BytesIO(render_xlsx(r)))

    assert len(workbook.sheetnames) == 6
    figures = workbook.worksheets[0]
    assert all(cell.font.bold for cell in figures[1])
    values = {row[0]: row[1] for row in figures.iter_rows(min_row=2, values_only=True)}
    labels = {f.key: f.label for f in r.figures}
    expected = naive(START, END)
    assert values[labels["incidents"]] == expected["incidents"]
    assert values[labels["posts"]] == expected["posts"]
    assert values[labels["negative_share"]] == pytest.approx(expected["negative_share"])
    assert figures.column_dimensions["A"].width > 10
    departments = list(workbook.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert departments[0][:5] == (city.roads.name, 2, 0.5, 0.0, 0.5)
    assert departments[1][0] == city.housing.name and departments[1][5] == pytest.approx(350 / 120)
    problems = list(workbook.worksheets[2].iter_rows(min_row=2, values_only=True))
    assert [(p[0], p[2]) for p in problems] == [("Уборка дворов", 2), ("Ямы на дорогах", 2)]
    assert workbook.worksheets[3].max_row == 1  # spikes: the header only
    assert workbook.worksheets[4].max_row == 1 + 3  # overdue now


# --- personal data ------------------------------------------------------------------------------------------------


def test_personal_data_is_masked():
    masked = mask_personal_data(PERSONAL)

    for secret in ("Иванов", "Иван Иванович", "912", "345-67-89", "41-20-30", "ivanov.ivan@mail.ru", "кв. 15"):
        assert secret not in masked, secret
    assert "кв. [скрыто]" in masked
    assert "ул. Мира, 1" in masked and "Яма у подъезда" in masked  # the problem and the house stay
    assert mask_personal_data("Горячая линия 8-800-100-20-30, спасибо") == "Горячая линия 8-800-100-20-30, спасибо"
    assert mask_personal_data("С уважением, Петрова А.А.") == "С уважением, [имя скрыто]"


def test_the_examples_of_top_problems_are_masked(city):
    potholes = Topic.objects.get(name="Ямы на дорогах")
    with time_machine.travel(at(2026, 12, 2, 12, 0), tick=False):
        incident = ingest(PERSONAL, external_id="pd", posted_at=at(2026, 12, 2, 12, 0))
        do_classify(incident, topic=potholes, actor=None)

    r = report()
    [problem] = [p for p in r.problems if p.topic == "Ямы на дорогах"]
    assert problem.incidents == 3
    assert len(problem.examples) == 2  # at most two
    example = problem.examples[0]  # the newest incident first
    assert "Яма у подъезда" in example
    assert "Иванов" not in example and "345-67-89" not in example and "mail.ru" not in example
    assert "Иванов" not in "".join(
        c.text for t in Document(io.BytesIO(render_docx(r))).tables for row in t.rows for c in row.cells
    )


# --- proposals ----------------------------------------------------------------------------------------------------


def test_proposals_follow_the_data_and_cite_their_numbers(city):
    proposals = {(p.rule, p.subject): p for p in report().proposals}

    assert set(proposals) == {
        ("rework", city.housing.name),  # 1 of 2 returned
        ("reopened", "Уборка дворов"),  # a1 of a1, a2
        ("place", "ул. Ленина, 5"),  # a1, a2
        ("late", city.roads.name),  # a4 open past due, of 2 judged
    }
    rework = proposals[("rework", city.housing.name)]
    assert rework.numbers == {"rework": 1, "assignments": 2, "share": 0.5}
    assert "1" in rework.text and "2" in rework.text and "50 %" in rework.text
    assert proposals[("reopened", "Уборка дворов")].numbers == {"reopened": 1, "answered": 2, "share": 0.5}
    assert proposals[("place", "ул. Ленина, 5")].numbers == {"incidents": 2}


def test_no_proposals_when_the_data_stays_below_the_thresholds(city):
    strict = Thresholds(
        rework_share=0.6,
        reopened_share=0.6,
        address_min_incidents=3,
        territory_min_incidents=3,
        late_share=0.6,
    )
    assert report(thresholds=strict).proposals == []
    # A territory rule fires at its own threshold: Центральный has a1 and a2.
    loose = Thresholds(
        rework_share=1.1, reopened_share=1.1, address_min_incidents=9, territory_min_incidents=2, late_share=1.1
    )
    assert [(p.rule, p.subject) for p in report(thresholds=loose).proposals] == [("place", "Центральный")]


# --- the command --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_the_command_writes_the_file(city, tmp_path, fmt):
    out = tmp_path / f"note.{fmt}"
    with time_machine.travel(NOW, tick=False):
        call_command("report", "--from", "2026-12-01", "--to", "2026-12-03", "--format", fmt, "--out", str(out))

    content = out.read_bytes()
    if fmt == "docx":
        assert len(Document(io.BytesIO(content)).tables) == 5
    else:
        assert len(load_workbook(io.BytesIO(content)).sheetnames) == 6


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2026-13-01", "--to", "2026-12-03"],
        ["--from", "01.12.2026", "--to", "2026-12-03"],
        ["--to", "2026-12-03"],
        ["--from", "2026-12-04", "--to", "2026-12-03"],
        ["--from", "2026-12-01", "--to", "2026-12-03", "--format", "pdf"],
    ],
)
def test_the_command_refuses_bad_arguments(db, tmp_path, args):
    out = tmp_path / "note.docx"
    with pytest.raises(CommandError):
        call_command("report", *args, "--out", str(out))
    assert not out.exists()


# --- the weekly delivery ------------------------------------------------------------------------------------------


MONDAY = at(2026, 12, 7, 8, 0)


@pytest.fixture
def director(director):
    director.email = "director@example.org"
    director.save(update_fields=["email"])
    return director


def test_last_week_is_monday_to_sunday():
    assert last_week(dt.date(2026, 12, 7)) == (dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert last_week(dt.date(2026, 12, 13)) == (dt.date(2026, 11, 30), dt.date(2026, 12, 6))


def test_the_weekly_job_sends_once_per_week(city, director, head):
    ReportSubscription.objects.create(user=director, format="docx")
    ReportSubscription.objects.create(email="deputy@example.org", format="xlsx")
    ReportSubscription.objects.create(email="gone@example.org", is_active=False)

    with time_machine.travel(MONDAY, tick=False):
        first = send_weekly_reports()
        second = send_weekly_reports()

    assert first["sent"] == 2 and second == {"sent": 0, "failed": 0, "skipped": 0, "already": 2}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([director.email, "deputy@example.org"])
    docx_mail = next(m for m in mail.outbox if m.to == [director.email])
    [(name, content, _type)] = docx_mail.attachments
    assert name == "spravka-2026-11-30-2026-12-06.docx"
    figures = {
        row[0]: row[1] for row in [[c.text for c in r.cells] for r in Document(io.BytesIO(content)).tables[0].rows]
    }
    assert "5" in figures.values()  # the incidents of 1–3 December are in last week
    xlsx_mail = next(m for m in mail.outbox if m.to == ["deputy@example.org"])
    assert load_workbook(io.BytesIO(xlsx_mail.attachments[0][1])).sheetnames
    assert ReportDelivery.objects.filter(status=DeliveryStatus.SENT, week_start=dt.date(2026, 11, 30)).count() == 2

    # The next week is sent again.
    with time_machine.travel(MONDAY + dt.timedelta(days=7), tick=False):
        assert send_weekly_reports()["sent"] == 2
    assert len(mail.outbox) == 4


def test_a_failed_delivery_is_tried_again_by_the_next_run(city, monkeypatch):
    subscription = ReportSubscription.objects.create(email="deputy@example.org")

    def broken(self, *args, **kwargs):
        raise OSError("connection refused")

    with time_machine.travel(MONDAY, tick=False):
        monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
        assert send_weekly_reports()["failed"] == 1
        monkeypatch.undo()
        assert ReportDelivery.objects.get(subscription=subscription).status == DeliveryStatus.FAILED
        assert send_weekly_reports()["sent"] == 1
        assert send_weekly_reports()["already"] == 1
    assert len(mail.outbox) == 1


def test_a_user_without_an_e_mail_is_skipped_once(city, director):
    director.email = ""
    director.save(update_fields=["email"])
    ReportSubscription.objects.create(user=director)

    with time_machine.travel(MONDAY, tick=False):
        assert send_weekly_reports()["skipped"] == 1
        assert send_weekly_reports()["already"] == 1
    assert mail.outbox == []


def test_the_beat_runs_the_job_on_monday_at_eight(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-report"]
    assert entry["task"] == "otklik.stats.tasks.send_weekly_reports"
    schedule = entry["schedule"]
    assert schedule.hour == {8} and schedule.minute == {0} and schedule.day_of_week == {1}


# --- the UI and permissions ---------------------------------------------------------------------------------------


QUERY = "period=custom&date_from=2026-12-01&date_to=2026-12-03"


def download(client, user, query: str):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(f"/dashboard/report/?{query}")


def test_the_dashboard_offers_the_note_for_its_period_and_filters(client, city, director):
    client.force_login(director)
    with time_machine.travel(NOW, tick=False):
        html = client.get(f"/dashboard/?{QUERY}&group={city.housing_group.pk}").content.decode()

    assert "data-report-download" in html and 'action="/dashboard/report/"' in html
    assert 'name="date_from" value="2026-12-01"' in html and 'name="date_to" value="2026-12-03"' in html
    assert f'name="group" value="{city.housing_group.pk}"' in html


def test_the_director_downloads_the_note_with_the_dashboard_filters(client, city, director):
    response = download(client, director, f"{QUERY}&format=xlsx&group={city.housing_group.pk}")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="spravka-2026-12-01-2026-12-03.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    values = [row[1] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert values[1] == 2  # incidents of the housing group

    docx = download(client, director, f"{QUERY}&format=docx")
    assert docx.status_code == 200 and len(Document(io.BytesIO(docx.content)).tables) == 5


def test_a_bad_download_request_is_refused(client, city, director):
    assert download(client, director, f"{QUERY}&format=pdf").status_code == 400
    assert (
        download(client, director, "period=custom&date_from=2026-12-04&date_to=2026-12-03&format=docx").status_code
        == 400
    )


@pytest.mark.parametrize("persona", ["executor", "dept_head"])
def test_departments_cannot_download_the_note(client, city, request, persona):
    assert download(client, request.getfixturevalue(persona), f"{QUERY}&format=docx").status_code == 403


def test_the_head_manages_the_subscriptions(client, head, director):
    client.force_login(head)
    assert client.get("/settings/reports/").status_code == 200

    response = client.post("/settings/reports/", {"user": director.pk, "format": "xlsx"})
    assert response.status_code == 302
    response = client.post("/settings/reports/", {"email": "Deputy@Example.org", "format": "docx"})
    assert response.status_code == 302
    assert sorted(ReportSubscription.objects.values_list("email", "format")) == [
        ("", "xlsx"),
        ("deputy@example.org", "docx"),
    ]
    # Neither or both: refused, nothing added.
    assert client.post("/settings/reports/", {"format": "docx"}).status_code == 400
    assert (
        client.post("/settings/reports/", {"user": director.pk, "email": "x@example.org", "format": "docx"}).status_code
        == 400
    )
    assert ReportSubscription.objects.count() == 2

    html = client.get("/settings/reports/").content.decode()
    assert "deputy@example.org" in html and 'href="/settings/reports/"' in html
    subscription = ReportSubscription.objects.get(email="deputy@example.org")
    assert client.post(f"/settings/reports/{subscription.pk}/remove/").status_code == 302
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert f'data-subscription="{subscription.pk}"' not in client.get("/settings/reports/").content.decode()


@pytest.mark.parametrize("persona", ["operator", "director", "executor"])
def test_only_the_head_edits_the_subscriptions(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/settings/reports/").status_code == 403
    assert client.post("/settings/reports/", {"email": "x@example.org", "format": "docx"}).status_code == 403
    assert not ReportSubscription.objects.exists()
