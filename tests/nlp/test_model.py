"""The learned topic model (otklik.nlp.model) and its commands: nlp_train, nlp_activate, nlp_evaluate.

The commands' tests without `--model` use the production classifier: the default model built once from the shipped
corpus and cached (otklik.nlp.learned.build_default), not retrained per test.

Fixture: tests/nlp/data/commands_fixture.csv, 64 short posts in 4 groups plus two rows with an empty text or label
(skipped and counted).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from otklik.nlp.learned import LearnedModel
from otklik.nlp.model import META_FILE, SoftmaxSVC, TopicModel, active_dir, read_labelled_csv

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "commands_fixture.csv"
ROOT = Path(__file__).resolve().parents[2]
KEYS = {"n", "accuracy", "macro_f1", "weighted_f1", "per_second"}
GROUPS = {"ЖКХ", "Дороги", "Общественный транспорт", "Здравоохранение/Медицина"}


@pytest.fixture(scope="module")
def rows() -> tuple[list[str], list[str]]:
    texts, labels, skipped = read_labelled_csv(FIXTURE, "text", "group")
    assert skipped == 2
    return texts, labels


@pytest.fixture(scope="module")
def trained(rows: tuple[list[str], list[str]]) -> TopicModel:
    return TopicModel().fit(*rows)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m1"
    call_command(
        "nlp_train", csv=str(FIXTURE), text_column="text", label_column="group", out=str(out), stdout=StringIO()
    )
    return out


def cp1251_semicolon_copy(tmp_path: Path) -> Path:
    with FIXTURE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    path = tmp_path / "fixture-cp1251.csv"
    with path.open("w", encoding="cp1251", newline="") as f:
        csv.writer(f, delimiter=";").writerows(rows)
    return path


def evaluate(*args: str) -> str:
    out = StringIO()
    call_command("nlp_evaluate", *args, stdout=out)
    return out.getvalue()


def test_it_reads_a_cp1251_file_with_semicolons_like_the_utf8_one(tmp_path: Path, rows: tuple) -> None:
    texts, labels, skipped = read_labelled_csv(cp1251_semicolon_copy(tmp_path), "text", "group")
    assert (texts, labels, skipped) == (rows[0], rows[1], 2)


def test_it_predicts_the_group_of_clear_posts_with_a_probability(trained: TopicModel) -> None:
    texts = ["Опять нет горячей воды в доме", "Автобус не пришел, ждали час на остановке", "Яма на дороге"]
    result = trained.predict_proba(texts)
    assert [label for label, _ in result] == ["ЖКХ", "Общественный транспорт", "Дороги"]
    assert all(0.0 < p <= 1.0 for _, p in result)
    assert trained.predict(texts) == [label for label, _ in result]


def test_it_gives_the_same_predictions_after_save_and_load(trained: TopicModel, rows: tuple, tmp_path: Path) -> None:
    trained.save(tmp_path / "m")
    loaded = TopicModel.load(tmp_path / "m")
    assert loaded.predict_proba(rows[0]) == trained.predict_proba(rows[0])
    assert set(loaded.meta["labels"]) == GROUPS
    assert loaded.meta["n_train"] == len(rows[0])


def test_it_trains_the_same_model_twice(rows: tuple, trained: TopicModel) -> None:
    again = TopicModel().fit(*rows)
    probe = ["не работает светофор", "врач не пришел", "сосульки на крыше"]
    assert again.predict_proba(probe) == trained.predict_proba(probe)


def test_it_falls_back_to_a_softmax_svc_when_a_class_is_rare(rows: tuple) -> None:
    texts, labels = rows
    model = TopicModel().fit([*texts, "Сломалась скамейка в парке"], [*labels, "Мой ярлык"], prior=False)
    ensemble = model.pipeline.named_steps["clf"]  # type: ignore[union-attr]
    assert isinstance(ensemble.text_.named_steps["clf"], SoftmaxSVC)
    assert "Мой ярлык" in model.labels
    classes, proba, _embedded = model.proba(["Сломалась скамейка в парке", "Яма на дороге"])
    assert proba.shape == (2, 5)
    assert abs(float(proba.sum(axis=1)[0]) - 1.0) < 1e-6


def test_it_adds_the_rubricator_prior_only_for_rubricator_labels(rows: tuple) -> None:
    texts, labels = rows
    with_prior = TopicModel().fit(texts, labels)
    assert with_prior.meta["n_prior"] > 50  # topic names and keyword phrases of the four groups
    own = TopicModel().fit(texts, ["A" if label == "ЖКХ" else "B" for label in labels])
    assert own.meta["n_prior"] == 0


def test_it_trains_to_a_directory_with_held_out_metrics(model_dir: Path) -> None:
    meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
    assert meta["n_train"] == 64
    assert meta["skipped_rows"] == 2
    metrics = meta["metrics"]
    assert metrics["n_test"] == 13 and metrics["stratified"] is True
    assert 0.5 <= metrics["accuracy"] <= 1.0
    assert 0.0 <= metrics["macro_f1"] <= 1.0
    assert set(meta["labels"]) == GROUPS
    assert {"version", "created_at", "recipe"} <= set(meta)
    model = LearnedModel.load(model_dir)  # a LearnedModel whose groups are the file's labels, no topics
    assert model.topics is None and set(model.labels) == GROUPS
    assert {"sklearn_version", "encoder"} <= set(model.groups.meta)


def test_it_activates_a_trained_model_as_a_copy(model_dir: Path, tmp_path: Path, settings) -> None:
    settings.VAR_DIR = tmp_path
    call_command("nlp_activate", str(model_dir), stdout=StringIO())
    active = active_dir()
    assert active == tmp_path / "nlp" / "active"
    assert LearnedModel.load(active).meta["version"] == LearnedModel.load(model_dir).meta["version"]
    call_command("nlp_activate", str(model_dir), stdout=StringIO())  # again: replaces the copy
    assert LearnedModel.load(active).labels == LearnedModel.load(model_dir).labels


def test_it_refuses_to_activate_a_directory_without_a_model(tmp_path: Path, settings) -> None:
    settings.VAR_DIR = tmp_path / "var"
    with pytest.raises(CommandError):
        call_command("nlp_activate", str(tmp_path), stdout=StringIO())
    assert not active_dir().exists()


def test_it_evaluates_a_model_printing_exactly_one_json_line(model_dir: Path, tmp_path: Path) -> None:
    output = evaluate(
        "--csv", str(cp1251_semicolon_copy(tmp_path)), "--text-column", "text", "--label-column", "group",
        "--model", str(model_dir),
    )  # fmt: skip
    lines = output.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result) == KEYS
    assert result["n"] == 64
    assert result["accuracy"] > 0.9  # it was trained on these rows
    assert all(0.0 <= result[key] <= 1.0 for key in ("accuracy", "macro_f1", "weighted_f1"))
    assert result["per_second"] > 0


@pytest.mark.django_db
def test_it_evaluates_the_default_classifier_on_groups(tmp_path: Path) -> None:
    result = json.loads(evaluate("--csv", str(FIXTURE), "--text-column", "text", "--label-column", "group"))
    assert set(result) == KEYS and result["n"] == 64
    assert 0.3 <= result["accuracy"] <= 1.0


@pytest.mark.django_db
def test_it_evaluates_the_default_classifier_on_topics() -> None:
    result = json.loads(
        evaluate("--csv", str(FIXTURE), "--text-column", "text", "--label-column", "group", "--level", "topic")
    )
    assert result["n"] == 64
    assert result["accuracy"] < 0.2  # topic names are not group names: the level is honoured


def test_it_evaluates_negativity_with_the_kind_analysis(tmp_path: Path) -> None:
    path = tmp_path / "neg.csv"
    path.write_text(
        "text,neg\n"
        "Безобразие! Третью неделю нет воды!!,negative\n"
        '"Ужас, яма на дороге, сколько можно?!",1\n'
        "Спасибо за быстрый ремонт крыльца,other\n"
        "Подскажите часы работы МФЦ,0\n",
        encoding="utf-8",
    )
    result = json.loads(
        evaluate("--csv", str(path), "--text-column", "text", "--label-column", "neg", "--task", "negative")
    )
    assert result["n"] == 4
    assert result["accuracy"] == 1.0


def test_it_evaluates_a_model_trained_on_negative_and_other(tmp_path: Path) -> None:
    texts, labels = read_labelled_csv(FIXTURE, "text", "group")[:2]
    path = tmp_path / "neg.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows([t, "negative" if g == "ЖКХ" else "other"] for t, g in zip(texts, labels, strict=True))
    out = tmp_path / "neg-model"
    call_command("nlp_train", csv=str(path), text_column="text", label_column="label", out=str(out), stdout=StringIO())
    output = evaluate(
        "--csv", str(path), "--text-column", "text", "--label-column", "label", "--task", "negative",
        "--model", str(out),
    )  # fmt: skip
    result = json.loads(output)
    assert result["n"] == 64 and result["accuracy"] > 0.9


def test_it_names_a_missing_column_in_the_error(model_dir: Path) -> None:
    with pytest.raises(CommandError, match="«?“?текст") as excinfo:
        evaluate("--csv", str(FIXTURE), "--text-column", "текст", "--label-column", "group", "--model", str(model_dir))
    assert "group" in str(excinfo.value)  # the columns the file does have
    with pytest.raises(CommandError, match="label"):
        call_command(
            "nlp_train", csv=str(FIXTURE), text_column="text", label_column="label", out="x", stdout=StringIO()
        )


def test_it_prints_only_the_json_line_on_the_real_stdout(model_dir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", "nlp_evaluate", "--csv", str(FIXTURE), "--text-column", "text",
         "--label-column", "group", "--model", str(model_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = completed.stdout.splitlines()
    assert len(lines) == 1
    assert set(json.loads(lines[0])) == KEYS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "text"),  # an empty file: no columns
        (b"text,group\n", "bad.csv"),  # a header only: the message names the file
        ("text,group\nнет воды,ЖКХ\n".encode("utf-16"), "UTF-8"),  # an encoding we do not read
        (b"PK\x03\x04\x00\x00binary", "UTF-8"),  # a spreadsheet, not a CSV
    ],
)
def test_it_refuses_bad_input_with_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        evaluate("--csv", str(path), "--text-column", "text", "--label-column", "group", "--model", "unused")
    with pytest.raises(CommandError):
        call_command("nlp_train", csv=str(path), text_column="text", label_column="group", out=str(tmp_path / "m"))


def test_a_bad_file_exits_non_zero_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("text;group\n".encode("utf-16"))
    for command in (
        ["nlp_evaluate", "--csv", str(path), "--text-column", "text", "--label-column", "group"],
        ["nlp_train", "--csv", str(path), "--text-column", "text", "--label-column", "group", "--out", str(tmp_path)],
        ["nlp_activate", str(tmp_path / "missing")],
    ):
        completed = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert completed.returncode != 0
        assert completed.stdout == ""
        assert "Traceback" not in completed.stderr and completed.stderr.strip()
