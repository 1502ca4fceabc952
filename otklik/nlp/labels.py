"""Operators' decisions kept as training labels (`TrainingLabel`).

The services of otklik.cases call these functions inside their own transaction, and only when an operator acts
(`actor is not None`): what the pipeline decides by itself teaches the model nothing.

| decision | service | label |
|---|---|---|
| topic / group chosen | `do_classify` | `topic`: value = the topic (or the group when no topic), `topic`, `group` |
| post kind | `do_set_post_kind` | `kind` on the post: value = the kind |
| no answer: insults or spam | `do_mark_no_answer` | `kind` on the incident's first post: `abusive` / `spam` |
| returned to work from insults/spam | `do_restore` | `kind` on that post, value empty: "not abusive, not spam" |
| merge | `do_merge` | `merge`: value = the incident it went into |
| split, unmerge | `do_split`, `do_unmerge` | `split`: value = the incident now separate, previous = where it was |

`previous` is what the machine had said (the pipeline's classification or kind) so the admin can see where the
model was corrected. A new label about the same subject supersedes the older ones (`is_current=False`, kept as
history): the incident for topic, merge and split (merge and split are one family: an unmerge cancels a merge),
the post for kind. The retrain (otklik.nlp.training) uses the current topic labels; kind, merge and split labels are
kept for the kind rules and the duplicate thresholds, which are not learned yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from otklik.nlp.models import LabelWhat, TrainingLabel

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.cases.models import Incident
    from otklik.intake.models import Post

#: The no-answer reasons that say what kind the post is.
KIND_REASONS = {"abusive": "abusive", "spam": "spam"}


def incident_text(incident: Incident) -> str:
    """The texts of the incident's posts in order, as the pipeline classifies them."""
    return "\n".join(incident.posts.order_by("posted_at", "pk").values_list("text", flat=True))


def _posts_text(post_ids: Sequence[int]) -> str:
    from otklik.intake.models import Post

    return "\n".join(Post.objects.filter(pk__in=post_ids).order_by("posted_at", "pk").values_list("text", flat=True))


def _save(label: TrainingLabel) -> TrainingLabel | None:
    """Store the label (none for an empty text) and supersede the older current labels about the same subject."""
    if not label.text.strip():
        return None
    label.save()
    older = TrainingLabel.objects.filter(is_current=True).exclude(pk=label.pk)
    if label.what == LabelWhat.KIND:
        older = older.filter(what=LabelWhat.KIND, post_id=label.post_id) if label.post_id else older.none()
    elif label.incident_id is None:
        older = older.none()
    elif label.what == LabelWhat.TOPIC:
        older = older.filter(what=LabelWhat.TOPIC, incident_id=label.incident_id)
    else:
        older = older.filter(what__in=[LabelWhat.MERGE, LabelWhat.SPLIT], incident_id=label.incident_id)
    older.update(is_current=False)
    return label


def _machine_classification(incident: Incident, before: dict[str, Any]) -> str:
    """The latest classification made by the pipeline (an event without an actor); else the value before."""
    from otklik.cases.choices import EventVerb
    from otklik.cases.models import Event

    event = (
        Event.objects.filter(incident=incident, verb=EventVerb.CLASSIFIED, actor__isnull=True).order_by("-pk").first()
    )
    said = event.after if event is not None else before
    return str(said.get("topic") or said.get("group") or "")


def record_topic(incident: Incident, *, actor: User, before: dict[str, Any]) -> TrainingLabel | None:
    """The operator chose the topic (or only the group) of `incident` (called by do_classify after saving)."""
    group = incident.group.name if incident.group_id and incident.group else ""
    if not group:
        return None  # the classification was cleared: nothing to learn
    topic = incident.topic.name if incident.topic_id and incident.topic else ""
    return _save(
        TrainingLabel(
            what=LabelWhat.TOPIC,
            incident=incident,
            post=incident.posts.order_by("posted_at", "pk").first(),
            text=incident_text(incident),
            value=topic or group,
            topic=topic,
            group=group,
            previous=_machine_classification(incident, before)[:255],
            actor=actor,
        )
    )


def record_kind(post: Post, *, kind: str, previous: str, actor: User) -> TrainingLabel | None:
    """The operator set the kind of `post` (an empty `kind`: "not abusive and not spam")."""
    return _save(
        TrainingLabel(
            what=LabelWhat.KIND,
            incident_id=post.incident_id,
            post=post,
            text=post.text,
            value=kind,
            previous=previous,
            actor=actor,
        )
    )


def _first_post(incident: Incident) -> Post | None:
    return incident.posts.order_by("posted_at", "pk").first()


def record_no_answer(incident: Incident, *, reason: str, actor: User) -> TrainingLabel | None:
    """Marked "no answer" for insults or spam: the kind of the post that opened the incident."""
    kind = KIND_REASONS.get(reason)
    post = _first_post(incident)
    if kind is None or post is None:
        return None
    return record_kind(post, kind=kind, previous=post.kind, actor=actor)


def record_restore(incident: Incident, *, previous_reason: str, actor: User) -> TrainingLabel | None:
    """Returned to work after "no answer" for insults or spam: the operator says the post is neither."""
    post = _first_post(incident)
    if previous_reason not in KIND_REASONS or post is None:
        return None
    return record_kind(post, kind="", previous=post.kind, actor=actor)


def record_merge(incident: Incident, *, into: Incident, post_ids: Sequence[int], actor: User) -> TrainingLabel | None:
    """`incident` (with the posts `post_ids`) was merged into `into`: the same problem."""
    return _save(
        TrainingLabel(
            what=LabelWhat.MERGE,
            incident=incident,
            text=_posts_text(post_ids),
            value=str(into.pk),
            previous="",
            actor=actor,
        )
    )


def record_split(
    incident: Incident, *, from_incident_id: int, post_ids: Sequence[int], actor: User
) -> TrainingLabel | None:
    """The posts `post_ids`, now in `incident`, were separated from incident `from_incident_id`: another problem."""
    from otklik.intake.models import Post

    first = Post.objects.filter(pk__in=post_ids).order_by("posted_at", "pk").first()
    return _save(
        TrainingLabel(
            what=LabelWhat.SPLIT,
            incident=incident,
            post=first,
            text=_posts_text(post_ids),
            value=str(incident.pk),
            previous=str(from_incident_id),
            actor=actor,
        )
    )


def current_topic_labels() -> QuerySet[TrainingLabel]:
    """The labels the retrain learns from: the latest topic decision per incident, with a group and a text."""
    return (
        TrainingLabel.objects.filter(what=LabelWhat.TOPIC, is_current=True)
        .exclude(group="")
        .exclude(text="")
        .order_by("pk")
    )
