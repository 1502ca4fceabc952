"""`FastSelect` renders exactly what Django's template `Select` renders (the inbox's filters use it)."""

from __future__ import annotations

import pytest
from django import forms

from otklik.cases.forms_inbox import InboxFilterForm
from otklik.core.widgets import FastSelect
from otklik.org.models import Department, TopicGroup

CHOICES = [
    ("", "— все —"),
    ("a", 'Кавычки " и <теги> & амперсанд'),
    ("Группа", [("b", "Вложенный"), ("c", "Второй")]),
    (3, "Число"),
]


def both(**attrs: object) -> tuple[forms.Select, FastSelect]:
    return forms.Select(attrs=dict(attrs), choices=CHOICES), FastSelect(attrs=dict(attrs), choices=CHOICES)


@pytest.mark.parametrize("value", ["", "a", "c", 3, "3", None, "нет такого"])
def test_the_html_is_django_s(value):
    plain, fast = both(**{"class": "form-select", "aria-label": "Группа <тем>", "required": True, "disabled": False})
    assert fast.render("group", value, attrs={"id": "id_group"}) == plain.render(
        "group", value, attrs={"id": "id_group"}
    )


def test_an_escaped_value_stays_escaped():
    html = FastSelect(choices=[('"><script>', "<b>x</b>")]).render("f", None)
    assert "<script>" not in html and "<b>" not in html
    assert 'value="&quot;&gt;&lt;script&gt;"' in html and "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.django_db
def test_the_inbox_filters_render_as_before():
    group = TopicGroup.objects.create(name="ЖКХ")
    Department.objects.create(name="Департамент «Городское хозяйство»")
    for data in ({}, {"group": str(group.pk), "channel": "vk"}, {"group": "999999", "territory": "x"}):
        form = InboxFilterForm(data)
        form.is_valid()
        for name in ("group", "department", "channel", "territory"):
            bound = form[name]
            fast = bound.as_widget()
            plain = bound.as_widget(widget=forms.Select(attrs=bound.field.widget.attrs, choices=bound.field.choices))
            assert fast == plain, (name, data)
            assert isinstance(bound.field.widget, FastSelect)
