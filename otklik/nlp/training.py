"""The periodic retrain of the topic model: corpus + operators' labels → a candidate → promoted only if not worse.

`do_retrain` (the weekly beat task `retrain_topic_model`, the admin's "Retrain now", `manage.py nlp_retrain`):

1. Gather the data: the corpus' train split (otklik.nlp.corpus; rows without a group — spam, insults — are not
   topic data) plus the current topic labels (otklik.nlp.labels). Labels have their own held-out slice: a label
   whose text hashes to 0 modulo 5 is held out, so a label never moves between the two sides.
2. Skip when nothing changed: the fingerprint of the data and of the recipe's source (learned.py, model.py) equals
   that of a version already trained to the end (`force` trains anyway). A redelivered task does nothing.
3. Claim: create the one `training` row (a partial unique constraint: a second beat, a second worker, a click on
   "Retrain now" meanwhile get "busy"). A `training` row older than `STALE_AFTER` is a dead run: it is marked
   rejected and taken over.
4. Train the candidate (`learned.train`), save it in `VAR_DIR/nlp/versions/<version>/` (kept, so that any version
   can be made the working one later).
5. Evaluate the candidate and the model working now on the SAME held-out posts (corpus held-out + labels
   held-out). The model working now is the one in `VAR_DIR/nlp/active/`; when there is none, the default recipe
   trained on the corpus train split (the shipped default has seen the held-out posts: see `current_model`).
6. Promotion rule: the candidate is promoted only if it is not worse — macro-F1 ≥ current − `TOLERANCE` and
   accuracy ≥ current − `TOLERANCE`, `TOLERANCE = 0.0`, both on the same held-out. Then it is installed
   (`learned.activate`), becomes `active`, and the version it replaces becomes `retired`. Otherwise it is
   `rejected` with both sets of metrics and the reason.

`do_activate_version` makes any stored version the working one again (rollback or roll-forward), recorded with who
and when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.core.errors import DomainError, IllegalTransition
from otklik.nlp import corpus, learned
from otklik.nlp.labels import current_topic_labels
from otklik.nlp.models import MODEL_TRANSITIONS, ModelStatus, ModelVersion, TrainedBy

if TYPE_CHECKING:
    from otklik.accounts.models import User

log = logging.getLogger(__name__)

M = ModelStatus
#: A `training` row older than this belongs to a run that died; the next retrain takes over.
STALE_AFTER = dt.timedelta(hours=1)
#: The candidate may be at most this much worse than the working model (macro-F1 and accuracy) to be promoted.
TOLERANCE = 0.0
#: One label in this many (by a stable hash of its text) is held out for evaluation.
LABEL_HELDOUT_EVERY = 5


def versions_dir() -> Path:
    return Path(settings.VAR_DIR) / "nlp" / "versions"


@dataclass
class Dataset:
    train: list[learned.LabelledText]
    heldout: list[learned.LabelledText]
    n_corpus: int
    n_labels: int
    counts: dict[str, int]
    data_hash: str


@dataclass
class RetrainResult:
    """What a retrain did: promoted, rejected, skipped (nothing new) or busy (another retrain is running)."""

    outcome: str
    version: str = ""
    note: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _digest(text: str) -> str:
    return hashlib.sha1(text.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def label_is_heldout(text: str) -> bool:
    """Stable: the same text is always on the same side, whatever other labels exist."""
    return int(_digest(text), 16) % LABEL_HELDOUT_EVERY == 0


def _recipe_fingerprint() -> bytes:
    """The recipe's identity: a changed recipe is worth a retrain even without new data. learned.default_key()
    (corpus files, prior data, the recipe's sources, library versions) when learned.py offers it."""
    key = getattr(learned, "default_key", None)
    if callable(key):
        return str(key()).encode()
    from otklik.nlp import model

    return b"".join(Path(module.__file__ or "").read_bytes() for module in (learned, model))


def gather() -> Dataset:
    """The training and held-out records: corpus train/held-out split plus the current topic labels (step 1)."""
    train_rows, held_rows = corpus.split(corpus.load())
    train = [learned.LabelledText(r.text, r.group, r.topic) for r in train_rows if r.group]
    heldout = [learned.LabelledText(r.text, r.group, r.topic) for r in held_rows if r.group]
    n_corpus = len(train) + len(heldout)
    hasher = hashlib.sha256(_recipe_fingerprint())
    for record in [*train, *heldout]:
        hasher.update(json.dumps([record.text, record.group, record.topic], ensure_ascii=False).encode())
    labels_train = labels_held = 0
    for label in current_topic_labels():
        record = learned.LabelledText(label.text, label.group, label.topic)
        hasher.update(json.dumps(["label", label.pk, record.text, record.group, record.topic]).encode())
        if label_is_heldout(label.text):
            heldout.append(record)
            labels_held += 1
        else:
            train.append(record)
            labels_train += 1
    counts = {
        "corpus_train": n_corpus - (len(heldout) - labels_held),
        "corpus_heldout": len(heldout) - labels_held,
        "labels_train": labels_train,
        "labels_heldout": labels_held,
    }
    return Dataset(train, heldout, n_corpus, labels_train + labels_held, counts, hasher.hexdigest())


# --- claiming and status changes -----------------------------------------------------------------------------


def _check(version: ModelVersion, to: str) -> None:
    if to not in MODEL_TRANSITIONS[version.status]:
        raise IllegalTransition(
            _("A model version in status «%(from)s» cannot go to «%(to)s».")
            % {"from": M(version.status).label, "to": M(to).label}
        )


def _new_version_name(now: dt.datetime) -> str:
    base = now.strftime("%Y%m%d-%H%M%S")
    name, n = base, 1
    while ModelVersion.objects.filter(version=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def claim(trained_by: str) -> ModelVersion | None:
    """The new `training` row, or None when another retrain holds it (step 3)."""
    now = timezone.now()
    ModelVersion.objects.filter(status=M.TRAINING, created_at__lt=now - STALE_AFTER).update(
        status=M.REJECTED,
        finished_at=now,
        note=_("Abandoned: the training did not finish within an hour; a new retrain took over."),
    )
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                version=_new_version_name(now), status=M.TRAINING, trained_by=trained_by, created_at=now
            )
    except IntegrityError:
        return None


def _finish(version: ModelVersion, to: str, **fields: Any) -> None:
    """Move `version` from its status to `to` with a conditional UPDATE (a taken-over row is left alone)."""
    _check(version, to)
    updated = ModelVersion.objects.filter(pk=version.pk, status=version.status).update(status=to, **fields)
    if not updated:
        raise IllegalTransition(_("Model version %(version)s changed meanwhile.") % {"version": version.version})
    version.status = to
    for name, value in fields.items():
        setattr(version, name, value)


def _install(version: ModelVersion, *, actor: User | None, note: str) -> None:
    """Make `version` the working model: DB first, then the files, in one transaction (a failed copy rolls back)."""
    now = timezone.now()
    with transaction.atomic():
        ModelVersion.objects.filter(status=M.ACTIVE).exclude(pk=version.pk).update(status=M.RETIRED)
        _finish(version, M.ACTIVE, activated_at=now, activated_by=actor, note=note)
        learned.activate(version.path)


# --- the retrain ---------------------------------------------------------------------------------------------


def _already_trained(data_hash: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.filter(data_hash=data_hash, finished_at__isnull=False)
        .exclude(status=M.TRAINING)
        .exclude(metrics={})
        .order_by("-pk")
        .first()
    )


def current_model(data: Dataset) -> tuple[learned.LearnedModel, str]:
    """The model working now and a description of it (step 5).

    The shipped default (`learned.default_model()`) is trained on the WHOLE corpus, held-out included: compared on
    the held-out it would look better than it is and no candidate would ever pass. So when no retrained model is
    active (or the active one is a copy of that default) the comparison is with the same recipe trained on the
    corpus train split only — what the default is, minus the posts it is judged on.
    """
    from otklik.nlp.model import active_dir

    active = active_dir()
    if (active / "meta.json").exists():
        try:
            model = learned.LearnedModel.load(active)
        except Exception:  # noqa: BLE001 — e.g. a single TopicModel installed by nlp_activate: not comparable
            log.warning("the active model in %s is not a LearnedModel; comparing with the default", active)
        else:
            if model.meta.get("source") != "default":
                return model, f"active {model.meta.get('version', '?')}"
    corpus_train = data.train[: data.counts["corpus_train"]]
    return learned.train(corpus_train), "default recipe on the corpus train split"


def _decide(candidate: dict[str, float], current: dict[str, float]) -> bool:
    """The promotion rule (step 6). Rounded so that float noise does not decide between equal models."""
    return round(candidate["macro_f1"], 9) >= round(current["macro_f1"] - TOLERANCE, 9) and round(
        candidate["accuracy"], 9
    ) >= round(current["accuracy"] - TOLERANCE, 9)


def _fmt(m: dict[str, Any]) -> str:
    return _("accuracy %(accuracy).3f, macro-F1 %(macro_f1).3f") % m


def do_retrain(*, trained_by: str = TrainedBy.BEAT, force: bool = False) -> RetrainResult:
    """Train a candidate on corpus + labels; promote it only if not worse than the working model. See the module."""
    data = gather()
    if not force:
        done = _already_trained(data.data_hash)
        if done is not None:
            note = _("Nothing new since version %(version)s: same corpus, labels and recipe.") % {
                "version": done.version
            }
            return RetrainResult("skipped", done.version, note)
    version = claim(trained_by)
    if version is None:
        return RetrainResult("busy", note=_("Another retrain is running."))
    try:
        return _train_and_decide(version, data)
    except Exception as exc:
        log.exception("retrain %s failed", version.version)
        ModelVersion.objects.filter(pk=version.pk, status__in=[M.TRAINING, M.CANDIDATE]).update(
            status=M.REJECTED, finished_at=timezone.now(), note=_("Failed: %(error)s") % {"error": exc}
        )
        raise


def _train_and_decide(version: ModelVersion, data: Dataset) -> RetrainResult:
    candidate = learned.train(data.train)
    candidate.meta.update(version=version.version, trained_by=version.trained_by, counts=data.counts)
    path = versions_dir() / version.version
    candidate.save(path)
    # Still `training`: the claim is held until the decision, so no second retrain can start meanwhile.
    stored = {"path": str(path), "data_hash": data.data_hash, "n_corpus": data.n_corpus, "n_labels": data.n_labels}
    ModelVersion.objects.filter(pk=version.pk).update(**stored)
    for name, value in stored.items():
        setattr(version, name, value)
    current, current_name = current_model(data)
    new_metrics = learned.evaluate(candidate, data.heldout)
    old_metrics = learned.evaluate(current, data.heldout)
    metrics = {"candidate": new_metrics, "current": old_metrics, "current_model": current_name, **data.counts}
    values = {
        "n": len(data.heldout),
        "current": current_name,
        "new": _fmt(new_metrics),
        "old": _fmt(old_metrics),
    }
    now = timezone.now()
    if data.heldout and _decide(new_metrics, old_metrics):
        note = _("Promoted: not worse than %(current)s on %(n)d held-out posts: %(new)s against %(old)s.") % values
        with transaction.atomic():
            _finish(version, M.CANDIDATE, metrics=metrics, finished_at=now)
            _install(version, actor=None, note=note)
        outcome = "promoted"
    else:
        note = _("Rejected: worse than %(current)s on %(n)d held-out posts: %(new)s against %(old)s.") % values
        _finish(version, M.REJECTED, metrics=metrics, finished_at=now, note=note)
        outcome = "rejected"
    log.info("retrain %s: %s", version.version, note)
    return RetrainResult(outcome, version.version, note, metrics)


# --- rollback ------------------------------------------------------------------------------------------------


def do_activate_version(version: ModelVersion | str, *, actor: User | None) -> ModelVersion:
    """Make a stored version the working model again (rollback or roll-forward): its directory is re-installed,
    it becomes `active`, the version working until now `retired`; who and when are recorded."""
    from otklik.core.permissions import ensure_head

    ensure_head(actor)
    name = version if isinstance(version, str) else version.version
    row = ModelVersion.objects.filter(version=name).first()
    if row is None:
        raise DomainError(_("There is no model version %(version)s.") % {"version": name})
    if row.status == M.ACTIVE:
        raise DomainError(_("Version %(version)s is already the working model.") % {"version": name})
    if not row.path or not Path(row.path).is_dir():
        raise DomainError(_("The files of version %(version)s are gone.") % {"version": name})
    previous = ModelVersion.objects.filter(status=M.ACTIVE).values_list("version", flat=True).first()
    who = actor.get_username() if actor is not None else _("the system")
    line = _("Made the working model by %(who)s at %(when)s, replacing %(previous)s.") % {
        "who": who,
        "when": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "previous": previous or _("the default model"),
    }
    _install(row, actor=actor, note="\n".join(filter(None, [row.note, line])))
    log.info("model version %s activated by %s", name, who)
    return row
