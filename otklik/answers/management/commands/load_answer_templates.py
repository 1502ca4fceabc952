"""`python manage.py load_answer_templates`: the default answer templates, written by the methodological
recommendations (a greeting, plain words instead of канцелярит, concrete dates, the evidence of work mentioned).

Idempotent by name: a missing template is created, an existing one is never overwritten (the head of the service
edits them in the UI). A template for a group that is not loaded yet (run `load_reference` first) is skipped
with a note. tests/answers/test_drafting.py renders every template with sample values and runs the quality checks.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.answers.choices import AnswerKind
from otklik.answers.models import AnswerTemplate
from otklik.org.models import TopicGroup

# (name, kind, group name or None for a general template, text)
DEFAULT_TEMPLATES: list[tuple[str, str, str | None, str]] = [
    (
        "Первичный ответ — общий",
        AnswerKind.PRIMARY,
        None,
        "Здравствуйте, {{ citizen }}! Спасибо, что написали. Мы передали ваше сообщение ответственным специалистам "
        "({{ department }}) и попросили проверить ситуацию по адресу {{ address }}. Ответим здесь же не позднее "
        "{{ deadline }}.",
    ),
    (
        "Промежуточный ответ — общий",
        AnswerKind.INTERMEDIATE,
        None,
        "Здравствуйте, {{ citizen }}! Рассказываем, как идут дела по вашему сообщению. {{ information }} "
        "Работы планируют закончить до {{ promised_date }}. Когда всё будет готово, напишем вам здесь и покажем "
        "фото результата.",
    ),
    (
        "Окончательный ответ — общий",
        AnswerKind.FINAL,
        None,
        "Здравствуйте, {{ citizen }}! Спасибо за терпение. {{ information }} Фото после работ прилагаем. "
        "Если проблема повторится, напишите нам — проверим ещё раз.",
    ),
    (
        "Отказ — общий",
        AnswerKind.REFUSAL,
        None,
        "Здравствуйте, {{ citizen }}! Спасибо, что сообщили о проблеме. К сожалению, администрация города не может "
        "решить этот вопрос сама. {{ information }} Если нужна помощь с обращением, напишите нам в ответ — "
        "подскажем, куда и как его подать.",
    ),
    (
        "ЖКХ — первичный ответ",
        AnswerKind.PRIMARY,
        "ЖКХ",
        "Здравствуйте, {{ citizen }}! Спасибо за сообщение. Мы передали его специалистам ({{ department }}) и "
        "попросили управляющую компанию проверить дом по адресу {{ address }}. Ответим здесь не позднее "
        "{{ deadline }}.",
    ),
    (
        "ЖКХ — окончательный ответ",
        AnswerKind.FINAL,
        "ЖКХ",
        "Здравствуйте, {{ citizen }}! {{ information }} Фото после работ прилагаем. Если в доме по адресу "
        "{{ address }} проблема повторится, напишите нам — снова передадим её управляющей компании.",
    ),
    (
        "Дороги — промежуточный ответ",
        AnswerKind.INTERMEDIATE,
        "Дороги",
        "Здравствуйте, {{ citizen }}! Спасибо за обращение. Участок дороги по адресу {{ address }} проверили. "
        "{{ information }} Ремонт закончат до {{ promised_date }}, тогда напишем вам здесь ещё раз.",
    ),
    (
        "Дороги — окончательный ответ",
        AnswerKind.FINAL,
        "Дороги",
        "Здравствуйте, {{ citizen }}! Спасибо, что сообщили о проблеме на дороге по адресу {{ address }}. "
        "{{ information }} Фото после ремонта прилагаем. Если заметите новые повреждения, пишите — передадим "
        "дорожной службе.",
    ),
]


class Command(BaseCommand):
    help = "Load the default answer templates (by name; existing ones are left as they are); safe to run again."

    def handle(self, *args: Any, verbosity: int = 1, **options: Any) -> None:
        created = kept = skipped = 0
        groups = {g.name: g for g in TopicGroup.objects.filter(name__in={t[2] for t in DEFAULT_TEMPLATES if t[2]})}
        for name, kind, group_name, text in DEFAULT_TEMPLATES:
            group = groups.get(group_name) if group_name else None
            if group_name and group is None:
                skipped += 1
                self.stdout.write(
                    _("  skipped «%(name)s»: no topic group «%(group)s» (run load_reference first)")
                    % {"name": name, "group": group_name}
                )
                continue
            with transaction.atomic():
                if AnswerTemplate.objects.filter(name=name).exists():
                    kept += 1
                    continue
                AnswerTemplate.objects.create(name=name, kind=kind, group=group, text=text)
                created += 1
                if verbosity >= 2:
                    self.stdout.write(_("  created «%s»") % name)
        if verbosity >= 1:
            self.stdout.write(
                _("Answer templates: %(created)s created, %(kept)s already there, %(skipped)s skipped.")
                % {"created": created, "kept": kept, "skipped": skipped}
            )
