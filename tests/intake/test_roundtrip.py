"""The way back to IM and ПОС: an imported export comes back in its own columns with our status and published
answer, in the export's encoding and delimiter; uploading that file again updates the posts, never duplicates them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.choices import AssignmentRole, EventVerb
from otklik.cases.models import Event, Incident
from otklik.cases.services import do_accept_information, do_classify, do_route, do_submit_information
from otklik.core.errors import DomainError
from otklik.intake.choices import Channel, ImportOutcome
from otklik.intake.models import ImportJob, Post
from otklik.intake.roundtrip import (
    APPENDED_HEADERS,
    build_back_sheet,
    chosen_answer,
    export_back,
    find_answer_columns,
)
from otklik.intake.services import do_create_import_job, do_run_import_job, do_start_import_job
from otklik.org.models import Topic

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "otklik" / "intake" / "samples" / "im_export_demo.csv"
FINAL = (
    "Здравствуйте! Спасибо, что написали. Электрики заменят кабель освещения во дворе дома Ленина 17 до 5 декабря, "
    "после этого фонари снова будут гореть."
)
INTERMEDIATE = (
    "Здравствуйте! Спасибо за сообщение. Электрики уже выехали на место, кабель освещения во дворе заменят до "
    "5 декабря. Окончательный ответ дадим здесь."
)
LINK = "https://vk.com/wall-217654_48112?reply=777"


def run(data: bytes, *, name: str, actor, channel: str = Channel.IM) -> ImportJob:
    job = do_create_import_job(actor=actor, data=data, file_name=name, channel=channel)
    job = do_start_import_job(job, actor=actor, mapping=job.mapping, channel=channel, enqueue=False)
    return do_run_import_job(job.pk)


def incident_of(external_id: str) -> Incident:
    post = Post.objects.get(source__channel="im", external_id=external_id)
    return Incident.objects.get(pk=post.incident_id)


def answer_with_information(incident: Incident, *, operator, executor, housing) -> None:
    topic = Topic.objects.get(name="Неисправные фонари освещения")
    do_classify(incident, topic=topic, group=topic.group, actor=operator)
    do_route(incident, actor=operator, lead=housing, co_executors=[])
    lead = incident.assignments.get(role=AssignmentRole.LEAD)
    do_submit_information(lead, actor=executor, text="Кабель освещения заменили 28.11, фонари горят.")
    do_accept_information(lead, actor=operator)


@pytest.fixture
def demo(reference, operator):
    return run(DEMO.read_bytes(), name="im_export_demo.csv", actor=operator)


@pytest.fixture
def answered(demo, operator, executor, housing):
    """IM-260481 (the lights at Ленина 17) answered on the merits with the link pasted by the operator."""
    incident = incident_of("IM-260481")
    answer_with_information(incident, operator=operator, executor=executor, housing=housing)
    answer = do_draft_answer(incident, actor=operator, kind="final", text=FINAL)
    return do_publish_answer(answer, actor=operator, link=LINK)


def read_csv(data: bytes, encoding: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter))


def read_xlsx(data: bytes) -> list[list[object]]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def by_id(rows: list[list], id_column: int = 0) -> dict[str, list]:
    return {str(row[id_column]): row for row in rows[1:]}


# --- the file --------------------------------------------------------------------------------------------------


def test_the_xlsx_has_the_exports_columns_and_the_answered_row_has_status_answer_link_and_time(demo, answered):
    rows = read_xlsx(export_back(demo, format="xlsx"))
    header = rows[0]
    # The export had «Статус» and «Текст ответа»: kept where they were; the link and the date are appended.
    assert header == [*demo.headers, "Ссылка на ответ", "Дата ответа"]
    assert len(rows) == 1 + demo.imported  # one row per imported post, none for the rejected rows
    row = by_id(rows)["IM-260481"]
    assert row[header.index("Статус")] == "Закрыт"  # a final answer closes the incident (the default setting)
    assert row[header.index("Текст ответа")] == FINAL
    assert row[header.index("Ссылка на ответ")] == LINK
    published = timezone.localtime(answered.published_at).strftime("%d.%m.%Y %H:%M")
    assert row[header.index("Дата ответа")] == published
    # The rest of the row is the export's as it was.
    assert row[:7] == [
        "IM-260481",
        "20.11.2026 08:12",
        "ВКонтакте",
        "Наталья Гребенюк",
        "https://vk.com/wall-217654_48112",
        row[5],
        "★ Неисправные фонари освещения",
    ]
    assert row[5].startswith("Доброе утро. Во дворе Ленина 17")


def test_a_row_without_a_published_answer_gets_its_status_only(demo, answered, operator, housing):
    do_route(incident_of("IM-260482"), actor=operator, lead=housing, co_executors=[])
    rows = by_id(read_xlsx(export_back(demo)))
    routed, untouched = rows["IM-260482"], rows["IM-260483"]
    assert routed[7:] == ["В работе", None, None, None]
    assert untouched[7:] == ["Новый", None, None, None]


def test_the_csv_keeps_the_exports_encoding_and_delimiter(demo, answered):
    assert (demo.encoding, demo.delimiter) == ("utf-8-sig", ";")
    data = export_back(demo, format="csv")
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM, as the export had it
    rows = read_csv(data, "utf-8-sig", ";")
    assert rows[0] == [*demo.headers, "Ссылка на ответ", "Дата ответа"]
    row = by_id(rows)["IM-260481"]
    assert row[7:] == [
        "Закрыт",
        FINAL,
        LINK,
        timezone.localtime(answered.published_at).strftime("%d.%m.%Y %H:%M"),
    ]
    assert row[1] == "20.11.2026 08:12"


def test_a_cp1251_export_comes_back_in_cp1251_with_its_delimiter(sample, operator):
    job = run(sample("pos_cp1251_semicolon.csv"), name="pos.csv", actor=operator, channel=Channel.POS)
    data = export_back(job, format="csv")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = read_csv(data, "cp1251", ";")
    # ПОС's «Статус» column is there; the answer columns are appended.
    assert rows[0] == [*job.headers, "Ответ", "Ссылка на ответ", "Дата ответа"]
    assert {r[0]: r[5] for r in rows[1:]} == {"5012345": "Новый", "5012346": "Новый"}


def test_an_export_without_status_or_answer_columns_gets_them_appended_and_keeps_its_numeric_ids(sample, operator):
    job = run(sample("im_export.xlsx"), name="export.xlsx", actor=operator)
    rows = read_xlsx(export_back(job, format="xlsx"))
    assert rows[0] == [*job.headers, *APPENDED_HEADERS.values()]
    ids = [row[1] for row in rows[1:]]
    assert ids == [880001, 880002, 880004]  # numbers, as in the export
    assert isinstance(rows[1][2], dt.datetime)  # the date cell stays a date
    assert rows[1][7] == "Новый"


def test_an_xlsx_export_written_as_csv_is_utf8_with_a_bom_and_semicolons(sample, operator):
    job = run(sample("im_export.xlsx"), name="export.xlsx", actor=operator)
    data = export_back(job, format="csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data, "utf-8-sig", ";")
    assert rows[1][1] == "880001"
    assert rows[1][2] == "25.11.2026 14:05"


def test_an_intermediate_answer_goes_back_until_a_final_one_is_published(demo, operator, executor, housing):
    incident = incident_of("IM-260481")
    answer_with_information(incident, operator=operator, executor=executor, housing=housing)
    promised = timezone.localdate() + dt.timedelta(days=6)
    intermediate = do_draft_answer(
        incident, actor=operator, kind="intermediate", text=INTERMEDIATE, promised_date=promised
    )
    do_publish_answer(intermediate, actor=operator)
    row = by_id(read_xlsx(export_back(demo)))["IM-260481"]
    assert row[8] == INTERMEDIATE
    assert row[9] is None  # published by hand without a link: not known yet

    with time_machine.travel(timezone.now() + dt.timedelta(hours=2), tick=False):
        final = do_publish_answer(do_draft_answer(incident, actor=operator, kind="final", text=FINAL), actor=operator)
    assert chosen_answer(incident.answers.all()) == final
    row = by_id(read_xlsx(export_back(demo)))["IM-260481"]
    assert row[8] == FINAL


def test_the_link_of_the_publication_in_the_posts_thread_is_preferred(demo, answered):
    publication = answered.publications.get()
    assert publication.post.external_id == "IM-260481"
    publication.url = "https://vk.com/wall-217654_48112?reply=888"
    publication.save(update_fields=["url"])
    row = by_id(read_xlsx(export_back(demo)))["IM-260481"]
    assert row[9] == "https://vk.com/wall-217654_48112?reply=888"


def test_a_whole_source_since_a_day_uses_the_latest_import_for_its_columns(demo, answered, operator):
    sheet = build_back_sheet(Channel.IM)
    assert sheet.template == demo
    assert len(sheet.rows) == demo.imported
    assert sheet.answered == 1
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert build_back_sheet(Channel.IM, since=tomorrow).rows == []
    today = build_back_sheet(Channel.IM, since=timezone.localdate())
    assert len(today.rows) == demo.imported  # imported today
    with pytest.raises(DomainError):
        build_back_sheet(Channel.POS)  # nothing imported from ПОС


def test_the_exports_own_answer_columns_are_found_by_their_names():
    headers = ["ID", "Текст", "Статус инцидента", "Срок ответа", "Ответ", "Ссылка на ответ", "Дата ответа (МСК)"]
    assert find_answer_columns(headers, {"external_id": 0, "text": 1}) == {
        "status": 2,
        "answer": 4,
        "answer_link": 5,
        "answer_at": 6,
    }
    assert find_answer_columns(["ID", "Текст", "Срок ответа"], {}) == {}


# --- uploading the file back --------------------------------------------------------------------------------------


def test_the_exported_file_imported_again_updates_posts_and_duplicates_nothing(demo, answered, operator):
    posts, incidents = Post.objects.count(), Incident.objects.count()
    data = export_back(demo, format="csv")
    again = run(data, name="back.csv", actor=operator)
    assert (again.imported, again.updated, again.skipped, again.rejected) == (0, 0, demo.imported, 0)
    assert again.rows.count() == demo.imported  # every row has its outcome: nothing is skipped silently
    # Our own status and answer are nothing new: the only warning is the sample's topic the rubricator lacks.
    assert [r.message for r in again.rows.exclude(message="")] == [again.rows.get(external_id="IM-260501").message]
    assert "Благодарность" in again.rows.get(external_id="IM-260501").message
    assert (Post.objects.count(), Incident.objects.count()) == (posts, incidents)

    edited = data.decode("utf-8-sig").replace("Кому звонить???", "Кому звонить? Уже десять дней темно.")
    third = run(edited.encode("utf-8-sig"), name="back-edited.csv", actor=operator)
    assert (third.imported, third.updated, third.skipped, third.rejected) == (0, 1, demo.imported - 1, 0)
    post = Post.objects.get(source__channel="im", external_id="IM-260481")
    assert post.text.endswith("Кому звонить? Уже десять дней темно.")
    row = third.rows.get(external_id="IM-260481")
    assert (row.outcome, row.post_id) == (ImportOutcome.UPDATED, post.pk)
    event = Event.objects.filter(incident_id=post.incident_id, verb=EventVerb.UPDATED).get()
    assert "Кому звонить???" in event.before["text"]
    assert "десять дней" in event.after["text"]
    assert (Post.objects.count(), Incident.objects.count()) == (posts, incidents)


def test_an_answer_or_a_closed_status_only_the_export_knows_is_reported_on_the_row(demo, operator):
    incident = incident_of("IM-260482")
    status_before = incident.status
    data = DEMO.read_bytes().decode("utf-8-sig")
    line = next(x for x in data.splitlines() if x.startswith("IM-260482;"))
    edited = data.replace(line, line.removesuffix("Новый;") + "Решено;Здравствуйте! Яму засыпали щебнем 21 ноября.")
    again = run(edited.encode("utf-8-sig"), name="im-later.csv", actor=operator)
    row = again.rows.get(external_id="IM-260482")
    assert row.outcome == ImportOutcome.SKIPPED  # the post itself did not change
    assert "Яму засыпали щебнем" in row.message
    assert "Решено" in row.message and str(incident.pk) in row.message
    assert row.values[7] == "Решено"  # kept for the report
    assert again.warned == 2  # this row and the sample's row 22 (a topic the rubricator lacks)
    incident.refresh_from_db()
    assert incident.status == status_before  # a file never changes the incident's status
    assert not incident.answers.exists()


def test_the_exported_xlsx_imported_again_is_read_with_the_same_columns(sample, operator):
    job = run(sample("im_export.xlsx"), name="export.xlsx", actor=operator)
    again = run(export_back(job, format="xlsx"), name="back.xlsx", actor=operator)
    assert again.mapping == job.mapping  # the appended columns are not taken for the post's
    assert (again.imported, again.updated, again.skipped, again.rejected) == (0, 0, 3, 0)


# --- the pages and the command ------------------------------------------------------------------------------------


def test_the_service_downloads_the_file_of_an_import(client, demo, answered, operator):
    client.force_login(operator)
    response = client.get(f"/import/{demo.pk}/back.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "im_export_demo-back" in response["Content-Disposition"]
    assert by_id(read_xlsx(response.content))["IM-260481"][8] == FINAL
    csv_response = client.get(f"/import/{demo.pk}/back.csv")
    assert csv_response.status_code == 200
    assert by_id(read_csv(csv_response.content, "utf-8-sig", ";"))["IM-260481"][8] == FINAL
    assert client.get(f"/import/{demo.pk}/back.pdf").status_code == 404
    page = client.get(f"/import/{demo.pk}/")
    assert f"/import/{demo.pk}/back.xlsx" in page.content.decode()


def test_the_service_downloads_a_whole_source_from_the_list_page(client, demo, answered, operator):
    client.force_login(operator)
    assert "/import/back/im.xlsx" in client.get("/import/").content.decode()
    response = client.get("/import/back/im.csv", {"since": timezone.localdate().isoformat()})
    assert response.status_code == 200
    assert len(read_csv(response.content, "utf-8-sig", ";")) == 1 + demo.imported
    assert client.get("/import/back/im.csv", {"since": "вчера"}).status_code == 400
    assert client.get("/import/back/pos.xlsx").status_code == 404  # nothing imported from ПОС


def test_a_department_user_cannot_download_it(client, demo, executor):
    client.force_login(executor)
    assert client.get(f"/import/{demo.pk}/back.xlsx").status_code == 403
    assert client.get("/import/back/im.xlsx").status_code == 403


def test_the_command_writes_the_file(demo, answered, tmp_path):
    out = tmp_path / "back.csv"
    stdout = io.StringIO()
    call_command("export_back", "--job", str(demo.pk), "--format", "csv", "--out", str(out), stdout=stdout)
    rows = read_csv(out.read_bytes(), "utf-8-sig", ";")
    assert by_id(rows)["IM-260481"][8] == FINAL
    assert str(demo.imported) in stdout.getvalue()
    channel_out = tmp_path / "im.xlsx"
    call_command("export_back", "--channel", "im", "--since", "2026-11-29", "--out", str(channel_out), stdout=stdout)
    assert len(read_xlsx(channel_out.read_bytes())) == 1 + demo.imported
