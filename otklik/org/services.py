"""Reference data of the organisation: the rubricator (topics and groups).

Departments, territories and routing rules are reference data edited in the admin; the rubricator comes from IM
and is loaded from the copy shipped in `otklik/org/data/` (never from outside the project at run time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from otklik.nlp.keywords import RUBRICATOR_PATH, strip_mark
from otklik.org.models import Topic, TopicGroup


@dataclass
class LoadReport:
    groups_created: list[str] = field(default_factory=list)
    topics_created: list[str] = field(default_factory=list)
    topics_updated: list[str] = field(default_factory=list)
    topics_deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0


@transaction.atomic
def load_rubricator(path: Path = RUBRICATOR_PATH) -> LoadReport:
    """Bring TopicGroup and Topic rows in line with the rubricator file; safe to run any number of times.

    1. Read «topic» → «group»; a leading «★ » marks a priority topic (stored as `priority`, not in the name).
    2. Create missing groups; create missing topics; update a topic whose group, priority or activity changed.
    3. Topics no longer in the file are deactivated, not deleted: incidents may refer to them.
    Topic keywords edited in the admin are kept.
    """
    import json

    with path.open(encoding="utf-8") as f:
        raw: dict[str, str] = json.load(f)
    report = LoadReport()
    groups = {g.name: g for g in TopicGroup.objects.all()}
    topics = {t.name: t for t in Topic.objects.select_related("group")}
    seen: set[str] = set()
    for raw_name, raw_group in raw.items():
        name, priority = strip_mark(raw_name)
        group_name = raw_group.strip()
        seen.add(name)
        group = groups.get(group_name)
        if group is None:
            group = groups[group_name] = TopicGroup.objects.create(name=group_name)
            report.groups_created.append(group_name)
        topic = topics.get(name)
        if topic is None:
            topics[name] = Topic.objects.create(name=name, group=group, priority=priority)
            report.topics_created.append(name)
            continue
        changed = []
        if topic.group_id != group.pk:
            topic.group = group
            changed.append("group")
        if topic.priority != priority:
            topic.priority = priority
            changed.append("priority")
        if not topic.is_active:
            topic.is_active = True
            changed.append("is_active")
        if changed:
            topic.save(update_fields=changed)
            report.topics_updated.append(name)
        else:
            report.unchanged += 1
    for name, topic in topics.items():
        if name not in seen and topic.is_active:
            topic.is_active = False
            topic.save(update_fields=["is_active"])
            report.topics_deactivated.append(name)
    return report
