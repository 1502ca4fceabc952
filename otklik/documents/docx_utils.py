"""Small helpers shared by the DOCX documents: a letterhead, tables, and a bar chart as a PNG.

The chart is drawn without matplotlib or Pillow (neither is a dependency): raw RGB rows compressed with zlib into a
minimal PNG (IHDR, IDAT, IEND), which is all python-docx needs to embed a picture.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

from django.conf import settings
from django.utils.translation import gettext as _
from docx import Document as new_document
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt


def city_name() -> str:
    return str(getattr(settings, "OTKLIK_CITY_NAME", "") or "")


def start_document() -> Document:
    document = new_document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"  # type: ignore[attr-defined]
    style.font.size = Pt(12)  # type: ignore[attr-defined]
    return document


def letterhead(document: Document) -> None:
    """The block at the top of an official letter: the administration and the service."""
    city = city_name()
    lines = [_("Administration of the city of %(city)s") % {"city": city}, _("Feedback service")]
    for index, line in enumerate(lines):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(line)
        run.bold = index == 0
        paragraph.paragraph_format.space_after = Pt(0)
    document.add_paragraph()


def add_table(document: Document, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = str(text)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = str(value)


def to_bytes(document: Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bar_chart_png(values: Sequence[int], *, height: int = 120, bar: int = 12, gap: int = 3) -> bytes:
    """A bar chart of `values` (left to right) as PNG bytes: dark red bars on white over a grey base line."""
    count = max(1, len(values))
    width = count * (bar + gap) + gap
    peak = max(values, default=0) or 1
    white, red, grey = b"\xff\xff\xff", b"\xb0\x2a\x2a", b"\x99\x99\x99"
    heights = [round((height - 4) * value / peak) for value in values]
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type: none
        level = height - 1 - y  # 0 at the bottom
        row = bytearray(white * width)
        if level == 0:
            row = bytearray(grey * width)
        else:
            for index, h in enumerate(heights):
                if h and level <= h:
                    x0 = gap + index * (bar + gap)
                    row[x0 * 3 : (x0 + bar) * 3] = red * bar
        raw.extend(row)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _chunk(b"IEND", b"")
    )
