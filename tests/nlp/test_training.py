"""The retrain (otklik.nlp.training): promotes only a model that is not worse, one training at a time, rollback.

The corpus is cut to a small real subset (4 groups × 12 posts without topics, plus spam) so that each training is
quick; models and versions go to a temporary VAR_DIR.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from otklik.cases.services import do_classify
from otklik.nlp import corpus, learned, training
from otklik.nlp.model import active_dir
from otklik.nlp.models import ModelStatus, ModelVersion, TrainedBy
from otklik.nlp.training import claim, do_activate_version, do_retrain, gather, label_is_heldout
from otklik.org.models import Topic, TopicGroup
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db

GROUPS = ("ЖКХ", "Дороги", "Общественный транспорт", "Здравоохранение/Медицина")
PER_GROUP = 12
ORIGINAL_TRAIN = learned.train
REAL_LOAD = corpus.load


@pytest.fixture(scope="module")
def small_corpus() -> list[corpus.CorpusRow]:
    rows = corpus.load()
    chosen = [r for g in GROUPS for r in [r for r in rows if r.group == g][:PER_GROUP]]
    spam = [r for r in rows if not r.group][:3]
    # Without topics only the group model is trained: a topic model over dozens of topics takes seconds.
    return [dataclasses.replace(r, topic="") for r in chosen + spam]


@pytest.fixture(autouse=True)
def _small_world(settings, tmp_path, monkeypatch, small_corpus):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(corpus, "load", lambda directory=None: list(small_corpus))


def weak_train(records: Sequence[learned.LabelledText]) -> learned.LearnedModel:
    """A real model trained on the same texts with every group replaced by the next one: honestly worse."""
    groups = sorted({r.group for r in records})
    shifted = {g: groups[(i + 1) % len(groups)] for i, g in enumerate(groups)}
    return ORIGINAL_TRAIN([learned.LabelledText(r.text, shifted[r.group], "") for r in records])


def install_weak_version(name: str = "weak") -> ModelVersion:
    """A stored version holding the weak model, made the working one."""
    model = weak_train(gather().train)
    model.meta["version"] = name
    path = training.versions_dir() / name
    model.save(path)
    version = ModelVersion.objects.create(version=name, status=ModelStatus.RETIRED, path=str(path))
    do_activate_version(version, actor=None)
    version.refresh_from_db()
    return version


def active_version_on_disk() -> str:
    return json.loads((active_dir() / "meta.json").read_text(encoding="utf-8"))["version"]


def test_the_training_data_skips_posts_without_a_group_and_keeps_the_corpus_held_out_apart():
    data = gather()

    assert data.n_corpus == len(GROUPS) * PER_GROUP
    assert {r.group for r in data.train} == set(GROUPS)
    assert data.counts["corpus_heldout"] > 0
    assert not {r.text for r in data.train} & {r.text for r in data.heldout}


def test_it_promotes_a_better_model_and_retires_the_one_it_replaces():
    weak = install_weak_version()

    result = do_retrain(trained_by=TrainedBy.MANUAL)

    assert result.outcome == "promoted"
    new = ModelVersion.objects.get(version=result.version)
    weak.refresh_from_db()
    assert new.status == ModelStatus.ACTIVE and new.activated_at is not None
    assert weak.status == ModelStatus.RETIRED
    assert new.metrics["candidate"]["macro_f1"] > new.metrics["current"]["macro_f1"]
    assert new.metrics["current_model"] == "active weak"
    assert new.trained_by == TrainedBy.MANUAL
    assert Path(new.path) == training.versions_dir() / new.version
    assert active_version_on_disk() == new.version
    assert new.version in active_version_on_disk() and new.note


def test_it_rejects_a_worse_model_and_keeps_the_working_one(monkeypatch):
    first = do_retrain()
    assert first.outcome == "promoted"  # the same data as the default recipe: equal, so not worse
    monkeypatch.setattr(learned, "train", weak_train)

    result = do_retrain(force=True)

    assert result.outcome == "rejected"
    rejected = ModelVersion.objects.get(version=result.version)
    assert rejected.status == ModelStatus.REJECTED
    assert rejected.metrics["candidate"]["macro_f1"] < rejected.metrics["current"]["macro_f1"]
    assert rejected.note
    assert Path(rejected.path).is_dir()  # kept: it may still be made the working model by hand
    assert ModelVersion.objects.get(status=ModelStatus.ACTIVE).version == first.version
    assert active_version_on_disk() == first.version


def test_operators_labels_teach_a_group_the_corpus_lacks_and_that_model_is_promoted(reference, operator):
    do_retrain()
    rows = [r for r in REAL_LOAD() if r.group == "Образование"][:15]
    group = TopicGroup.objects.get(name="Образование")
    topic = Topic.objects.filter(group=group, is_active=True).first()
    for row in rows:
        do_classify(ingest(row.text), topic=topic, group=group, actor=operator)
    held = [r for r in rows if label_is_heldout(r.text)]
    assert held and len(held) < len(rows)  # this data puts some labels on each side

    result = do_retrain()

    assert result.outcome == "promoted"
    version = ModelVersion.objects.get(version=result.version)
    assert version.n_labels == len(rows)
    assert version.metrics["labels_heldout"] == len(held)
    assert version.metrics["candidate"]["accuracy"] > version.metrics["current"]["accuracy"]


def test_a_retrain_with_nothing_new_is_skipped_unless_forced():
    first = do_retrain()

    again = do_retrain()
    forced = do_retrain(force=True)

    assert again.outcome == "skipped" and again.version == first.version
    assert forced.outcome == "promoted" and forced.version != first.version
    assert ModelVersion.objects.count() == 2


def test_a_second_retrain_while_one_trains_is_busy_and_does_not_train(monkeypatch):
    inner: list[training.RetrainResult] = []

    def train_and_meanwhile_retrain_again(records):
        inner.append(do_retrain(force=True))
        return ORIGINAL_TRAIN(records)

    monkeypatch.setattr(learned, "train", train_and_meanwhile_retrain_again)

    outer = do_retrain(force=True)

    # Called for the candidate and for the default it is compared with: busy both times.
    assert inner and {r.outcome for r in inner} == {"busy"}
    assert outer.outcome == "promoted"
    assert ModelVersion.objects.count() == 1


def test_two_claims_give_one_training_row():
    first = claim(TrainedBy.BEAT)
    second = claim(TrainedBy.BEAT)

    assert first is not None and second is None
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version="by-hand", status=ModelStatus.TRAINING)


def test_a_training_row_older_than_an_hour_is_taken_over():
    stale = ModelVersion.objects.create(
        version="stale", status=ModelStatus.TRAINING, created_at=timezone.now() - dt.timedelta(hours=2)
    )

    result = do_retrain()

    assert result.outcome == "promoted"
    stale.refresh_from_db()
    assert stale.status == ModelStatus.REJECTED and stale.note


def test_a_recent_training_row_is_respected():
    ModelVersion.objects.create(version="running", status=ModelStatus.TRAINING)

    assert do_retrain().outcome == "busy"


def test_a_failed_training_is_rejected_with_the_error_and_frees_the_claim(monkeypatch):
    def broken(records):
        raise ValueError("no memory left")

    monkeypatch.setattr(learned, "train", broken)

    with pytest.raises(ValueError):
        do_retrain()

    failed = ModelVersion.objects.get()
    assert failed.status == ModelStatus.REJECTED and "no memory left" in failed.note
    monkeypatch.setattr(learned, "train", ORIGINAL_TRAIN)
    assert do_retrain().outcome == "promoted"  # not skipped: the failed run trained nothing


def test_rollback_reinstalls_the_files_of_the_old_version(admin_user, monkeypatch):
    first = do_retrain()
    second = do_retrain(force=True)
    assert active_version_on_disk() == second.version

    do_activate_version(first.version, actor=admin_user)

    assert active_version_on_disk() == first.version
    old, new = ModelVersion.objects.get(version=first.version), ModelVersion.objects.get(version=second.version)
    assert old.status == ModelStatus.ACTIVE and old.activated_by == admin_user
    assert second.version in old.note
    assert new.status == ModelStatus.RETIRED
    reloaded = learned.LearnedModel.load(active_dir())
    assert reloaded.meta["version"] == first.version


def test_an_operator_cannot_switch_models(operator):
    do_retrain()
    second = do_retrain(force=True)
    first = ModelVersion.objects.exclude(version=second.version).get()

    from otklik.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        do_activate_version(first, actor=operator)
    assert active_version_on_disk() == second.version


def test_the_task_and_the_command_report_the_outcome():
    from otklik.nlp.tasks import retrain_topic_model

    assert retrain_topic_model()["outcome"] == "promoted"
    out = StringIO()
    call_command("nlp_retrain", stdout=out)
    assert out.getvalue().startswith("skipped")
    out = StringIO()
    call_command("nlp_retrain", "--force", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("promoted ")
    assert any(line.startswith("candidate: n=") for line in lines)


def test_the_retrain_is_scheduled_weekly_on_sunday_night(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retrain-topic-model"]
    schedule = entry["schedule"]

    assert entry["task"] == "otklik.nlp.tasks.retrain_topic_model"
    assert schedule.day_of_week == {0} and schedule.hour == {2} and schedule.minute == {30}


def test_the_admin_lists_versions_and_makes_one_working(client, admin_user, django_capture_on_commit_callbacks):
    client.login(username=admin_user.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/nlp/modelversion/retrain/")
    assert response.status_code == 302
    first = ModelVersion.objects.get()
    assert first.status == ModelStatus.ACTIVE and first.trained_by == TrainedBy.MANUAL
    second = do_retrain(force=True)

    listing = client.get("/admin/nlp/modelversion/")
    assert listing.status_code == 200
    assert first.version.encode() in listing.content and second.version.encode() in listing.content

    response = client.post(
        "/admin/nlp/modelversion/", {"action": "make_working", "_selected_action": [first.pk]}, follow=True
    )
    assert response.status_code == 200
    assert active_version_on_disk() == first.version
    assert client.get("/admin/nlp/traininglabel/").status_code == 200
