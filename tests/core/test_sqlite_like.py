"""On SQLite, case-insensitive searches fold Cyrillic letters too (our LIKE replaces SQLite's ASCII-only one)."""

from __future__ import annotations

import pytest
from django.db import connection

from otklik.core.sqlite import unicode_like
from otklik.org.models import Department


def test_like_folds_any_letter_and_keeps_wildcards_and_escapes():
    assert unicode_like("%жкх%", "Департамент ЖКХ")
    assert not unicode_like("%дороги%", "Департамент ЖКХ")
    assert unicode_like("д_п%", "Департамент")
    assert not unicode_like(r"%100\%%", "скидка 100 рублей", "\\")
    assert unicode_like(r"%100\%%", "скидка 100% сразу", "\\")
    assert unicode_like(None, "x") is None


@pytest.mark.django_db
def test_icontains_finds_cyrillic_in_another_case():
    Department.objects.create(name="Департамент ЖКХ")
    assert list(Department.objects.filter(name__icontains="жкх").values_list("name", flat=True)) == ["Департамент ЖКХ"]
    if connection.vendor == "sqlite":
        assert not Department.objects.filter(name__icontains="жкх_").exists()
