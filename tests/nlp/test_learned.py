"""The learned topic classifier (otklik.nlp.learned): hard cases, the cached default, picking up an activation.

The hard cases use the default model built from the shipped corpus, once (cached on disk by its digest).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from otklik.nlp import corpus, learned
from otklik.nlp.base import Classifier
from otklik.nlp.learned import LabelledText, LearnedClassifier, LearnedModel

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def default() -> LearnedModel:
    return learned.default_model()


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("третий день нет горячей воды, когда дадут??", "ЖКХ"),
        ("Управляйка не убирает подъезд, грязь и вонь", "ЖКХ"),
        ("<p>Прошу принять меры: на проезжей части ул.&nbsp;Ленина выбоины глубиной 15 см</p>", "Дороги"),
        ("на остановке ждали 12-й автобус больше часа, маршрут вообще ходит?", "Общественный транспорт"),
        ("мусорные баки переполнены неделю, контейнеры не вывозят", "Мусор/Свалки/ТКО"),
        ("в поликлинике невозможно записаться к терапевту, талонов нет", "Здравоохранение/Медицина"),
        ("свет отключили во всем микрорайоне, холодильники текут", "Электроснабжение"),
        ("в садике нет мест, очередь не двигается уже год", "Образование"),
    ],
)
def test_it_names_the_group_of_hard_posts(default: LearnedModel, text: str, group: str) -> None:
    found = default.classify_many([text])[0]
    assert found.group_name == group
    assert 0.0 <= found.confidence <= 1.0


def test_it_picks_a_topic_of_the_predicted_group(default: LearnedModel) -> None:
    topic_group = default.meta["topic_group"]
    found = default.classify_many(["Опять нет горячей воды в доме на Мира 62", "Яма на дороге у перекрестка"])
    assert [c.topic_name for c in found][0] == "Отсутствие горячей воды"
    assert all(topic_group[c.topic_name] == c.group_name for c in found)


def test_it_has_no_opinion_on_a_text_without_words(default: LearnedModel) -> None:
    found = default.classify_many(["", "😡😡 !!! 123"])
    assert [(c.group_name, c.topic_name, c.confidence) for c in found] == [(None, None, 0.0)] * 2


def test_it_beats_the_floor_on_the_teams_blind_set(default: LearnedModel) -> None:
    """40 posts written after the keyword lists were frozen, not in the corpus (tests/nlp/data)."""
    rows = json.loads((DATA / "labelled_blind.json").read_text(encoding="utf-8"))
    assert not {r["text"] for r in rows} & {r.text for r in corpus.load()}
    metrics = learned.evaluate(default, [LabelledText(r["text"], r["group"]) for r in rows])
    assert metrics["accuracy"] >= 0.75


def test_the_classifier_is_the_configured_default_and_implements_the_protocol(settings) -> None:
    assert settings.OTKLIK_CLASSIFIER == "otklik.nlp.learned.LearnedClassifier"
    assert isinstance(LearnedClassifier(), Classifier)


def small_corpus(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rows = [
        {"text": text, "group": group, "topic": "", "kind": "complaint", "style": "social"}
        for group, texts in {
            "ЖКХ": ["нет горячей воды", "батареи холодные", "протекает крыша подъезда"],
            "Дороги": ["яма на дороге", "не работает светофор", "разбитый асфальт на проезжей части"],
        }.items()
        for text in texts
    ]
    (directory / "part.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")


@pytest.fixture
def tiny_default(tmp_path: Path, settings, monkeypatch) -> Path:
    """The default built from a six-row corpus in tmp_path (and without the rubricator prior: fast)."""
    corpus_dir = tmp_path / "corpus"
    small_corpus(corpus_dir)
    monkeypatch.setattr(corpus, "CORPUS_DIR", corpus_dir)
    settings.OTKLIK_CLASSIFIER_DEFAULT_DIR = tmp_path / "default"
    settings.VAR_DIR = tmp_path / "var"
    calls: list[int] = []

    def fast_train(records, **kwargs):
        calls.append(len(records))
        return original(records, prior=False)

    original = learned.train
    monkeypatch.setattr(learned, "train", fast_train)
    monkeypatch.setattr(learned, "build_calls", calls, raising=False)
    return corpus_dir


def test_the_default_is_built_once_and_rebuilt_when_the_corpus_changes(tiny_default: Path) -> None:
    first, built = learned.build_default()
    assert built and (first / "meta.json").exists()
    again, built_again = learned.build_default()
    assert (again, built_again) == (first, False)
    with (tiny_default / "part.jsonl").open("a", encoding="utf-8") as f:
        f.write("\n" + json.dumps({"text": "снег не убран с тротуара", "group": "Дороги"}, ensure_ascii=False))
    second, rebuilt = learned.build_default()
    assert rebuilt and second != first
    assert not first.exists()  # the stale default is removed
    assert learned.build_calls == [6, 7]  # type: ignore[attr-defined]
    assert LearnedModel.load(second).meta["n_train"] == 7


def test_the_classifier_picks_up_a_newly_activated_model(tiny_default: Path, tmp_path: Path, monkeypatch) -> None:
    classifier = LearnedClassifier()
    assert classifier.classify("нет горячей воды").group_name == "ЖКХ"  # the default
    other = learned.train([LabelledText(t, g) for t, g in [("вода", "А"), ("вода кран", "А"), ("ямы", "Б")] * 3])
    other.save(tmp_path / "other")
    learned.activate(tmp_path / "other")
    assert classifier.classify("нет горячей воды").group_name == "ЖКХ"  # not re-checked within RECHECK_SECONDS
    monkeypatch.setattr(learned, "RECHECK_SECONDS", 0.0)
    assert classifier.classify("вода из крана").group_name in {"А", "Б"}
    assert classifier.model.meta["version"] == other.meta["version"]
    shutil.rmtree(learned.active_dir())  # deactivated (by hand): back to the default
    assert classifier.classify("нет горячей воды").group_name == "ЖКХ"


def test_a_broken_active_model_falls_back_to_the_default(tiny_default: Path, monkeypatch) -> None:
    active = learned.active_dir()
    active.mkdir(parents=True)
    (active / "meta.json").write_text('{"version": "broken"}', encoding="utf-8")
    assert LearnedClassifier().classify("яма на дороге").group_name == "Дороги"


def test_the_fast_calibrated_svc_gives_the_probabilities_of_sklearns(default: LearnedModel) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    from otklik.nlp.model import CalibratedSVC

    rows = [r for r in corpus.load() if r.group][:300]
    vectoriser = default.groups.features()
    matrix = vectoriser.transform([r.text for r in rows])
    labels = [r.group for r in rows]
    kept = {g for g in labels if labels.count(g) >= 3}
    index = [i for i, g in enumerate(labels) if g in kept]
    x, y = matrix[index], [labels[i] for i in index]
    ours = CalibratedSVC().fit(x, y)
    theirs = CalibratedClassifierCV(LinearSVC(class_weight="balanced", C=0.5, random_state=0), cv=3).fit(x, y)
    assert list(ours.classes_) == list(theirs.classes_)
    assert abs(ours.predict_proba(x) - theirs.predict_proba(x)).max() < 1e-4
    two = [i for i, g in enumerate(y) if g in sorted(kept)[:2]]
    binary_ours = CalibratedSVC().fit(x[two], [y[i] for i in two])
    binary_theirs = CalibratedClassifierCV(LinearSVC(class_weight="balanced", C=0.5, random_state=0), cv=3)
    binary_theirs.fit(x[two], [y[i] for i in two])
    assert abs(binary_ours.predict_proba(x[two]) - binary_theirs.predict_proba(x[two])).max() < 1e-4
