"""Template tags of the documents app: the blocks other apps' pages include with one line."""

from __future__ import annotations

from typing import Any

from django import template

from otklik.cases.models import Assignment, Incident
from otklik.documents.choices import LetterKind
from otklik.documents.media_brief import incident_posts, resonant_threshold
from otklik.documents.models import MediaDispatch
from otklik.intake.models import Post

register = template.Library()


@register.inclusion_tag("documents/_card_media.html", takes_context=True)
def media_brief_block(context: dict[str, Any], incident: Incident) -> dict[str, Any]:
    """The media brief button of a resonant incident (at least `resonant_threshold()` posts), for the service."""
    user = context.get("user")
    if user is None or not getattr(user, "is_service", False):
        return {"show": False}
    merged = getattr(incident, "merged_post_count", None)
    own = getattr(incident, "_prefetched_objects_cache", {}).get("posts")
    if merged is not None and own is not None:
        # The card loaded its posts and counted those of the incidents merged into it: nothing to read.
        posts = len(own) + merged
    else:
        posts = Post.objects.filter(incident_posts(incident)).count()
    show = posts >= resonant_threshold()
    return {
        "show": show,
        "incident": incident,
        "posts": posts,
        "dispatch": MediaDispatch.objects.filter(incident=incident).first() if show else None,
    }


@register.inclusion_tag("documents/_assignment_letters.html", takes_context=True)
def assignment_letters(context: dict[str, Any], assignment: Assignment) -> dict[str, Any]:
    """Letter links of an assignment: the request for information, and the overdue notice when it is overdue."""
    user = context.get("user")
    allowed = bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and (user.can_read_all or (user.is_department_user and user.department_id == assignment.department_id))
    )
    return {
        "show": allowed and assignment.status not in {"cancelled", "declined"},
        "assignment": assignment,
        "is_overdue": assignment.is_overdue,
        "info_request": LetterKind.INFO_REQUEST.value,
        "overdue_notice": LetterKind.OVERDUE_NOTICE.value,
    }


@register.simple_tag(takes_context=True)
def media_dispatch_of_spike(context: Any, spike_id: int) -> MediaDispatch | None:
    """The dispatch of a spike on the spikes page: one query for all the listed spikes (`rows`), not one per row."""
    # Each include renders in its own render-context layer; the bottom layer lasts for the whole page.
    shared = context.render_context.dicts[0]
    cache = shared.get("media_dispatches")
    if cache is None or spike_id not in cache:
        ids = [row.spike.pk for row in context.get("rows") or []]
        ids = ids if spike_id in ids else [spike_id]
        cache = {pk: None for pk in ids}
        cache.update({d.spike_id: d for d in MediaDispatch.objects.filter(spike_id__in=ids)})
        shared["media_dispatches"] = cache
    return cache.get(spike_id)
