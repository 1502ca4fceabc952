"""`manage.py nlp_analyze`: steps 1–4 on every row of a CSV into JSON Lines, without the database.

No test here has the `db` fixture: pytest-django fails any query, so each test also proves the database is untouched.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from otklik.nlp.base import reset_classifier

KEYS = ["kind", "negative", "topic", "group", "confidence", "address"]
ADDRESS_KEYS = ["street", "street_type", "house", "raw"]


@pytest.fixture(autouse=True)
def _fresh_classifier():
    reset_classifier()
    yield
    reset_classifier()


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text(
        "id;text\n"
        "1;Третий день нет горячей воды на улице Садовой 7а\n"
        "2;Спасибо большое, молодцы!\n"
        "3;Казино, ставки на спорт, промокод\n"
        "4;\n",
        encoding="utf-8",
    )
    return path


def _run(csv_file, out, capsys) -> tuple[list[dict], str]:
    call_command("nlp_analyze", "--csv", str(csv_file), "--text-column", "text", "--out", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines], capsys.readouterr().err


def test_it_writes_one_object_per_row_with_the_exact_keys_in_order(csv_file, tmp_path, capsys):
    rows, _err = _run(csv_file, tmp_path / "out.jsonl", capsys)
    assert len(rows) == 4
    for row in rows:
        assert list(row) == KEYS
        assert list(row["address"]) == ADDRESS_KEYS
        assert 0.0 <= row["negative"] <= 1.0


def test_it_keeps_the_input_order_and_analyses_each_step(csv_file, tmp_path, capsys):
    rows, _err = _run(csv_file, tmp_path / "out.jsonl", capsys)
    assert [row["kind"] for row in rows] == ["complaint", "gratitude", "spam", "neutral"]
    first = rows[0]
    assert first["group"] == "ЖКХ"
    assert first["topic"] is not None and 0.0 < first["confidence"] <= 1.0
    assert first["address"]["street"] == "Садовая"
    assert first["address"]["street_type"] == "улица"
    assert first["address"]["house"] == "7а"
    empty = rows[3]
    assert (empty["topic"], empty["group"]) == (None, None)
    assert empty["address"] == {"street": "", "street_type": "", "house": "", "raw": ""}


def test_it_writes_cyrillic_as_is_and_a_summary_on_stderr(csv_file, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    _rows, err = _run(csv_file, out, capsys)
    assert "Садовая" in out.read_text(encoding="utf-8")
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["rows"] == 4
    assert summary["kinds"]["spam"] == 1


def test_it_names_the_columns_when_the_text_column_is_missing(csv_file, tmp_path):
    with pytest.raises(CommandError, match="id, text"):
        call_command("nlp_analyze", "--csv", str(csv_file), "--text-column", "body", "--out", str(tmp_path / "o"))
