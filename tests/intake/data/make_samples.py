"""Writes the sample exports used by the import tests (run: `.venv/bin/python tests/intake/data/make_samples.py`).

The files are committed; this script documents exactly what is in them (cp1251 and BOM bytes cannot be typed by
hand). Dates are in November 2026, city time (no zone), as IM and ПОС export them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent

# «Инцидент Менеджмент»: the columns of its incident export (the last two are not mapped: they must be ignored).
IM_HEADER = ["ID инцидента", "Дата создания", "Текст", "Ссылка", "Автор", "Рубрика", "Статус", "Текст ответа"]
IM_ROWS = [
    [
        "IM-1001",
        "27.11.2026 09:15",
        "Третий день нет горячей воды в доме на Ленина, 12. Управляющая компания трубку не берёт!",
        "https://vk.com/wall-123456_1001",
        "Ирина Петрова",
        "Отсутствие горячей воды",
        "Новый",
        "",
    ],
    [
        "IM-1002",
        "27.11.2026 10:40",
        "На Чапаева у остановки огромная яма, вчера пробил колесо.\nКогда засыплют?",
        "https://vk.com/wall-123456_1002",
        "Сергей К.",
        "★ Ямы во дворах",
        "Новый",
        "",
    ],
    [
        "IM-1003",
        "2026-11-27 12:05:00",
        "Во дворе пр. Победы 20 третью неделю не вывозят мусор, контейнеры переполнены",
        "vk.com/wall-123456_1003",
        "Ольга",
        "Уборка/Вывоз мусора",
        "В работе",
        "Здравствуйте! Информация передана…",
    ],
    # an empty text: rejected
    ["IM-1004", "27.11.2026 13:00", "   ", "https://vk.com/wall-123456_1004", "Аноним", "", "Новый", ""],
    # a date nobody can read: rejected
    ["IM-1005", "вчера вечером", "Не горят фонари на ул. Мира от дома 5 до 15", "", "Павел", "", "Новый", ""],
    # the same id as row 2: rejected
    [
        "IM-1001",
        "27.11.2026 15:30",
        "Горячей воды так и нет, сколько можно ждать?",
        "https://vk.com/wall-123456_1006",
        "Ирина Петрова",
        "",
        "Новый",
        "",
    ],
    # a category the rubricator does not know: imported without a topic, with a warning
    [
        "IM-1007",
        "2026-11-28T08:20:00+05:00",
        "Скользко на тротуаре у школы №9, дети падают, посыпьте песком",
        "https://vk.com/wall-123456_1007",
        "Мама второклассника",
        "Гололёд у школ (нет в рубрикаторе)",
        "Новый",
        "",
    ],
]

# ПОС (Госуслуги): the columns of its message export.
POS_HEADER = ["Номер сообщения", "Дата подачи", "Категория", "Текст сообщения", "Заявитель", "Статус"]
POS_ROWS = [
    [
        "5012345",
        "26.11.2026 18:02",
        "Уборка территорий",
        "Не убран снег во дворе ул. Северная 44, машины буксуют",
        "Алексей Иванов",
        "Зарегистрировано",
    ],
    [
        "5012346",
        "26.11.2026 19:47",
        "Освещение",
        "Нет освещения на пешеходной дорожке вдоль ул. 60 лет Октября",
        "Мария С.",
        "Зарегистрировано",
    ],
    [
        "5012347",
        "32.11.2026 10:00",
        "Дороги",
        "Разбитый асфальт на въезде во двор Интернациональная 7",
        "Виктор",
        "Зарегистрировано",
    ],
    ["5012348", "27.11.2026 07:30", "", "", "Гость", "Черновик"],
]

# A small XLSX like the ones IM gives: real date cells and numeric ids.
XLSX_HEADER = ["№", "ID сообщения", "Дата публикации", "Текст сообщения", "Ссылка на пост", "ID автора", "Категория"]
XLSX_ROWS = [
    [
        1,
        880001,
        dt.datetime(2026, 11, 25, 14, 5),  # noqa: DTZ001 - Excel cells carry no zone
        "Когда отремонтируют лифт в подъезде 3, ул. Ленина 30? Неделю пешком на 9 этаж",
        "https://ok.ru/group/1/topic/880001",
        "ok:555",
        "Лифт неисправен или отключен",
    ],
    [
        2,
        880002,
        dt.datetime(2026, 11, 25, 16, 40),  # noqa: DTZ001
        "Автобус 5 опять не пришёл по расписанию, ждали 40 минут на морозе",
        "https://ok.ru/group/1/topic/880002",
        "ok:556",
        "",
    ],
    [3, 880003, None, "Дата потерялась при выгрузке", "", "ok:557", ""],
    [4, 880004, 46352.5, "Спасибо за новую детскую площадку во дворе Мира 60!", "", "ok:558", ""],
]


def csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Сообщения"
    sheet.append(XLSX_HEADER)
    for row in XLSX_ROWS:
        sheet.append(row)
    for cell in sheet["C"][1:]:
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "DD.MM.YYYY HH:MM"
    sheet.append([])  # trailing empty rows, as Excel leaves them
    sheet.append([None, None, None])
    workbook.save(path)


def main() -> None:
    (HERE / "im_utf8_comma.csv").write_bytes(csv_text(IM_HEADER, IM_ROWS, ",").encode("utf-8"))
    (HERE / "im_utf8_bom_semicolon.csv").write_bytes(
        b"\xef\xbb\xbf" + csv_text(IM_HEADER, IM_ROWS[:3], ";").encode("utf-8")
    )
    (HERE / "pos_cp1251_semicolon.csv").write_bytes(csv_text(POS_HEADER, POS_ROWS, ";").encode("cp1251"))
    no_ids = [[r[1], r[2], r[4]] for r in IM_ROWS[:3]]
    (HERE / "im_no_ids_tab.csv").write_bytes(
        csv_text(["Дата создания", "Текст", "Автор"], no_ids, "\t").encode("utf-8")
    )
    write_xlsx(HERE / "im_export.xlsx")
    (HERE / "not_a_table.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")


if __name__ == "__main__":
    main()
