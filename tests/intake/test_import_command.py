"""`manage.py import_posts`: what it prints, its summary, and its exit codes (0 read, 2 unreadable)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from otklik.intake.models import ImportJob, Post

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def import_posts(*args: str) -> str:
    out = io.StringIO()
    call_command("import_posts", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_prints_the_reading_the_mapping_the_summary_and_each_rejected_row(reference):
    output = import_posts(str(DATA / "im_utf8_comma.csv"), "--source", "im")
    assert "im_utf8_comma.csv" in output
    assert "ID инцидента" in output and "Дата создания" in output  # the mapping it used
    summary = [line for line in output.splitlines() if "4" in line and "3" in line and ":" in line]
    assert summary, output
    for row in ("5", "6", "7"):
        assert any(line.strip().split(":")[0].endswith(f" {row}") for line in output.splitlines()), output
    assert "вчера вечером" in output
    assert "Гололёд у школ" in output  # the warning is printed too
    job = ImportJob.objects.get()
    assert (job.imported, job.updated, job.skipped, job.rejected) == (4, 0, 0, 3)
    assert job.created_by is None


def test_the_summary_line_has_the_four_counts_in_order():
    import_posts(str(DATA / "im_utf8_bom_semicolon.csv"))
    output = import_posts(str(DATA / "im_utf8_bom_semicolon.csv"))
    job = ImportJob.objects.latest("pk")
    assert (job.imported, job.updated, job.skipped, job.rejected) == (0, 0, 3, 0)
    line = next(line for line in output.splitlines() if line.count(":") >= 4 and line.rstrip().endswith("."))
    assert [int(part.split(":")[1].strip(" .")) for part in line.split(",")] == [0, 0, 3, 0]


def test_columns_are_given_by_name_or_by_number(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Колонка А;Когда;Что\nq-1;28.11.2026 10:00;Нет света в подъезде\n", encoding="utf-8")
    import_posts(str(path), "--source", "pos", "--map", "text=3", "--map", "posted_at=когда", "--map", "external_id=1")
    post = Post.objects.get()
    assert (post.external_id, post.text, post.source.channel) == ("q-1", "Нет света в подъезде", "pos")


def test_an_explicit_mapping_replaces_the_guess_and_an_empty_one_leaves_a_field_out():
    import_posts(str(DATA / "im_utf8_bom_semicolon.csv"), "--map", "text=Текст ответа", "--map", "url=")
    # «Текст ответа» is filled in one row only: that one is imported, the two others rejected for an empty text.
    assert list(Post.objects.values_list("external_id", "text")) == [("IM-1003", "Здравствуйте! Информация передана…")]
    Post.objects.all().delete()
    import_posts(str(DATA / "im_utf8_bom_semicolon.csv"), "--map", "url=")
    assert set(Post.objects.values_list("url", flat=True)) == {""}


def test_the_encoding_and_the_delimiter_can_be_given():
    import_posts(str(DATA / "pos_cp1251_semicolon.csv"), "--source", "pos", "--encoding", "cp1251", "--delimiter", ";")
    assert Post.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["/nonexistent/export.csv"], "/nonexistent/export.csv"),
        ([str(DATA / "not_a_table.pdf")], "not_a_table.pdf"),
        ([str(DATA / "pos_cp1251_semicolon.csv"), "--encoding", "utf-8"], "pos_cp1251_semicolon.csv"),
        ([str(DATA / "im_utf8_comma.csv"), "--map", "text=Нет такого"], "Нет такого"),
        ([str(DATA / "im_utf8_comma.csv"), "--map", "title=2"], "title=2"),
        ([str(DATA / "im_utf8_comma.csv"), "--map", "text"], "text"),
    ],
    ids=["missing", "not-a-table", "undecodable", "no-such-column", "unknown-field", "no-equals"],
)
def test_a_file_that_cannot_be_read_exits_with_code_2_and_says_why(args, needle):
    with pytest.raises(CommandError) as error:
        import_posts(*args)
    assert error.value.returncode == 2
    assert needle in str(error.value)
    assert Post.objects.count() == 0


def test_a_file_without_a_required_column_exits_with_code_2(tmp_path):
    path = tmp_path / "no-date.csv"
    path.write_text("ID;Текст\n1;Нет воды\n", encoding="utf-8")
    with pytest.raises(CommandError) as error:
        import_posts(str(path))
    assert error.value.returncode == 2
    assert "posted_at" in str(error.value)
    assert not ImportJob.objects.exists()


def test_a_file_with_only_blank_lines_has_no_header_and_exits_with_code_2(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n;;\n", encoding="utf-8")
    with pytest.raises(CommandError) as error:
        import_posts(str(path))
    assert error.value.returncode == 2


def test_the_process_exit_code_is_2_with_the_reason_on_stderr():
    result = subprocess.run(
        [sys.executable, "manage.py", "import_posts", "/nonexistent/export.csv", "--source", "im", "--skip-checks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "/nonexistent/export.csv" in result.stderr
    assert result.stdout == ""
