"""The gazetteer: CSV import (broken rows, encodings, upsert), matching places in text, the settings page."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otklik.nlp.gazetteer import Gazetteer, get_gazetteer, parse_gazetteer_csv, reset_cache
from otklik.nlp.management.commands.nlp_analyze import DEMO_GAZETTEER
from otklik.nlp.places import find_place
from otklik.org.choices import DepartmentKind
from otklik.org.gazetteer import do_import_gazetteer
from otklik.org.models import Building, Department, Landmark, Street, Territory
from tests.factories import make_department

CSV = """kind;street_type;street;house;name;aliases;district;company
street;ул.;Ленина;;;;Центр;УК «Приобье»
street;улица;Садовая;;;;Тепличный;
building;;Ленина;15;;;;
building;;Ленина;97 корп. 2;;;Север;УК «Восток»
building;мкр;10;5;;;Север;УК «Восток»
landmark;;Ленина;21;школа №5;СОШ №5|пятая школа;;
landmark;;;;ТЦ Европа;торговый центр Европа;Север;
"""


@pytest.fixture
def city(housing):
    Territory.objects.create(name="Центр")
    Territory.objects.create(name="Север")
    Territory.objects.create(name="Тепличный", kind="settlement")
    make_department("ООО «УК «Приобье»", short_name="УК «Приобье»", kind=DepartmentKind.COMPANY)
    make_department("ООО «УК «Восток»", short_name="УК «Восток»", kind=DepartmentKind.COMPANY)
    reset_cache()
    yield
    reset_cache()


@pytest.fixture(scope="module")
def demo() -> Gazetteer:
    return Gazetteer.from_csv(DEMO_GAZETTEER)


# --- import ---------------------------------------------------------------------------------------------------


def test_it_imports_streets_buildings_and_landmarks_with_their_district_and_company(city):
    report = do_import_gazetteer(CSV.encode())
    assert report.errors == []
    assert report.created == {"street": 2, "building": 3, "landmark": 2}
    lenina = Street.objects.get(name="Ленина", street_type="улица")
    assert (lenina.territory.name, lenina.company.short_name) == ("Центр", "УК «Приобье»")
    assert set(lenina.buildings.values_list("house", flat=True)) == {"15", "97к2", "21"}
    korpus = Building.objects.get(street=lenina, house="97к2")
    assert (korpus.territory.name, korpus.company.short_name) == ("Север", "УК «Восток»")
    assert (
        Building.objects.get(street__name="10", street__street_type="микрорайон", house="5").territory.name == "Север"
    )
    school = Landmark.objects.get(name="школа №5")
    assert school.building == Building.objects.get(street=lenina, house="21")
    assert school.alias_list == ["СОШ №5", "пятая школа"]


def test_broken_rows_are_reported_with_their_line_and_the_good_ones_imported(city):
    content = (
        "kind;street_type;street;house;name;aliases;district;company\n"
        "street;улица;Мира;;;;Центр;\n"  # 2: good
        "house;улица;Мира;5;;;;\n"  # 3: unknown kind
        "building;улица;Мира;;;;;\n"  # 4: no house
        "building;аллея;Мира;5;;;;\n"  # 5: unknown type
        "building;улица;Мира;пять;;;;\n"  # 6: unreadable house
        "building;улица;Мира;7;;;Атлантида;\n"  # 7: unknown district
        "building;улица;Мира;9;;;;Департамент ЖКХ\n"  # 8: not a managing company
        "building;улица;Мира;11;;;;;;;;\n"  # 9: too many fields
        "landmark;;;;;;;\n"  # 10: a landmark without a name
        "building;улица;Мира;13;;;Центр;УК «Приобье»\n"  # 11: good
    )
    report = do_import_gazetteer(content.encode())
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    reasons = " | ".join(e.reason for e in report.errors)
    for part in ("unknown kind", "without a house number", "unknown street type", "cannot read the house number"):
        assert part in reasons
    assert "unknown district «Атлантида»" in reasons and "not a managing company" in reasons
    assert list(Building.objects.values_list("house", flat=True)) == ["13"]


def test_a_cp1251_comma_separated_file_with_russian_headers_is_read(city):
    content = "улица,тип,дом,район,ук\nСадовая,ул,7 А,Тепличный,УК «Приобье»\n".encode("cp1251")
    report = do_import_gazetteer(content)
    assert report.errors == []
    assert Building.objects.get().house == "7а"


def test_importing_again_updates_by_the_natural_key_and_adds_nothing(city):
    do_import_gazetteer(CSV.encode())
    changed = CSV.replace("building;;Ленина;15;;;;", "building;;Ленина;15;;;Север;УК «Восток»")
    report = do_import_gazetteer(changed.encode())
    assert report.created == {"street": 0, "building": 0, "landmark": 0}
    assert report.updated["building"] == 1
    assert Building.objects.count() == 4
    assert Building.objects.get(house="15").company.short_name == "УК «Восток»"


def test_a_file_that_is_not_text_is_an_error_not_a_crash(city):
    report = do_import_gazetteer(b"\xff\xfe\x00\x98\x81garbage")
    assert report.imported == 0 and report.errors


def test_the_command_reports_rejected_rows_on_stderr(city, tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text(CSV + "building;;;5;;;;\n", encoding="utf-8")
    call_command("import_gazetteer", "--csv", str(path))
    captured = capsys.readouterr()
    assert re.search(r"(line|строка) 9\b", captured.err), captured.err
    assert Street.objects.count() == 3
    with pytest.raises(CommandError):
        call_command("import_gazetteer", "--csv", str(tmp_path / "missing.csv"))


def test_the_shipped_demo_gazetteer_is_clean_and_city_sized():
    rows, errors = parse_gazetteer_csv(DEMO_GAZETTEER.read_text(encoding="utf-8"))
    assert errors == []
    kinds = [r.kind for r in rows]
    assert kinds.count("street") >= 40 and kinds.count("building") >= 150 and kinds.count("landmark") >= 20


# --- the index in the database is rebuilt when the gazetteer changes ------------------------------------------


def test_the_database_gazetteer_is_built_once_and_refreshed_after_a_change(city, django_assert_max_num_queries):
    do_import_gazetteer(CSV.encode())
    first = get_gazetteer()
    with django_assert_max_num_queries(3):
        assert get_gazetteer() is first
    do_import_gazetteer(b"street;house\n\xd0\x9c\xd0\xb8\xd1\x80\xd0\xb0;62\n")  # «Мира;62»
    refreshed = get_gazetteer()
    assert refreshed is not first
    assert find_place("мира 62 нет воды", refreshed).building is not None


# --- matching -------------------------------------------------------------------------------------------------


def _where(text: str, gazetteer: Gazetteer) -> tuple[str, str, str] | None:
    address = find_place(text, gazetteer).address
    return (address.street, address.street_type, address.house) if address else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Lowercase and inflected known streets, without a type word.
        ("на ленина 15 нет воды", ("Ленина", "улица", "15")),
        ("омская 12, первый этаж, пол ледяной", ("Омская", "улица", "12")),
        ("Интернациональная 20 и 22 без горячей воды", ("Интернациональная", "улица", "20")),
        ("ТРУБУ ПРОРВАЛО в подъезде, Омская 14а", ("Омская", "улица", "14а")),
        ("Вода жёлтая. Салманова 4. Куда жаловаться?", ("Салманова", "улица", "4")),
        ("по улице садовой яма", ("Садовая", "улица", "")),
        ("в 10 мкр нет света", ("10", "микрорайон", "")),
        ("Мира 62, горячки нет", ("Мира", "улица", "62")),
        # The gazetteer knows the type: «Победы 5» is проспект Победы.
        ("Победы 5 не горят фонари", ("Победы", "проспект", "5")),
        # An adjective the rules refuse («тихий» describes streets), before its type word.
        ("Канализация забилась. Тихая улица, 4", ("Тихая", "улица", "4")),
        # Capitalised after a preposition, no house.
        ("У школы на Дзержинского стая собак", ("Дзержинского", "улица", "")),
        ("колесо пробил на Интернациональной у 2 школы", ("Интернациональная", "улица", "")),
        # Not streets: an adjective describing its noun; a village after «д.»; a quantity; lowercase alone.
        ("на Северной стороне двора темно", None),
        ("В д. Пермская 5 домов без света", None),
        ("на мира 5 дней нет воды", None),
        ("за мир во всем мире", None),
        # A date right after the house number.
        ("ленина 5 12.11.2026 опять нет воды", ("Ленина", "улица", "5")),
        # Two addresses: the first wins.
        ("на омской 12 и на Ленина 5 нет воды", ("Омская", "улица", "12")),
        ("Ленина 5 и Мира 62 без света", ("Ленина", "улица", "5")),
    ],
)
def test_it_finds_known_streets_the_rules_alone_miss(demo, text, expected):
    assert _where(text, demo) == expected


@pytest.mark.parametrize(
    ("text", "landmark", "street"),
    [
        ("возле школы №5 яма", "школа №5", "Ленина"),
        ("Пешеходный переход возле 43 школы не освещён", "школа №43", "Дзержинского"),
        ("у ТЦ «Европа» грязно", "ТЦ Европа", "Северная"),
        ("в торговом центре Европа нет пандуса", "ТЦ Европа", "Северная"),
        ("В садике №49 воспитатель кричит", "детский сад №49", "Пермская"),
        ("в детском саду № 103 холодно", "детский сад №103", "Интернациональная"),
        ("Лыжню в парке Победы не прокладывают", "парк Победы", None),
        ("у поликлиники №2 яма, а на Ленина 5 тоже", "поликлиника №2", "Омская"),
    ],
)
def test_it_finds_landmarks_and_their_building(demo, text, landmark, street):
    place = find_place(text, demo)
    assert place.landmark is not None and place.landmark.name == landmark
    assert (place.street.name if place.street else None) == street
    assert place.territory_name


def test_a_landmark_after_a_street_address_does_not_replace_it(demo):
    place = find_place("На Северной 37 у ТЦ «Европа» выбоины", demo)
    assert place.landmark is None
    assert place.display == "улица Северная, 37"
    assert place.company_name == "ООО «УК «Северный квартал»"


def test_a_known_building_gives_the_district_and_the_managing_company(demo):
    place = find_place("нет горячей воды, интернациональная 20", demo)
    assert place.building is not None and place.building.house == "20"
    assert place.territory_name == "Восточный планировочный район (мкр. 16–20)"
    assert place.company_name == "ООО «Управляющая компания «Восток-Сервис»"


def test_without_a_gazetteer_only_the_rules_speak(demo):
    assert find_place("омская 12 нет воды").address is None
    assert find_place("ул. Омская 12 нет воды").address is not None


# --- nlp_analyze uses a gazetteer file, not the database --------------------------------------------------------


def _analyze(tmp_path, *extra: str) -> list[dict]:
    src = tmp_path / "in.csv"
    src.write_text("text\nомская 12 нет воды\nвозле школы №5 яма\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    call_command("nlp_analyze", "--csv", str(src), "--text-column", "text", "--out", str(out), *extra)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_nlp_analyze_resolves_type_less_streets_with_the_shipped_gazetteer(tmp_path):
    first, landmark = _analyze(tmp_path)
    assert first["address"] == {"street": "Омская", "street_type": "улица", "house": "12", "raw": "омская 12"}
    # A landmark is no address the text writes.
    assert landmark["address"] == {"street": "", "street_type": "", "house": "", "raw": ""}
    rules_only, _ = _analyze(tmp_path, "--gazetteer", "none")
    assert rules_only["address"]["street"] == ""


# --- the settings page ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["head", "admin_user"])
def test_the_head_and_an_administrator_upload_and_search_the_gazetteer(request, client, city, persona):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(request.getfixturevalue(persona))
    upload = SimpleUploadedFile("g.csv", (CSV + "building;;;5;;;;\n").encode("cp1251"))
    response = client.post("/settings/gazetteer/import/", {"file": upload}, follow=True)
    assert response.status_code == 200
    assert "9" in response.content.decode()  # the rejected line is reported
    assert Building.objects.count() == 4
    page = client.get("/settings/gazetteer/", {"q": "Ленина 97"}).content.decode()
    assert "97к2" in page and ">15<" not in page
    streets = client.get("/settings/gazetteer/", {"what": "streets", "q": "сад"}).content.decode()
    assert "улица Садовая" in streets and "улица Ленина" not in streets
    assert "ТЦ Европа" in client.get("/settings/gazetteer/", {"what": "landmarks"}).content.decode()


@pytest.mark.parametrize("persona", ["operator", "executor", "director"])
def test_other_roles_cannot_see_or_import_the_gazetteer(request, client, city, persona):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(request.getfixturevalue(persona))
    assert client.get("/settings/gazetteer/").status_code == 403
    upload = SimpleUploadedFile("g.csv", CSV.encode())
    assert client.post("/settings/gazetteer/import/", {"file": upload}).status_code == 403
    assert not Street.objects.exists()


def test_a_managing_company_is_a_department_of_that_kind(city):
    do_import_gazetteer(CSV.encode())
    kinds = set(Department.objects.filter(buildings__isnull=False).values_list("kind", flat=True))
    assert kinds == {DepartmentKind.COMPANY}
