"""Validation of every uploaded file: its type (by extension, per use), its size and its content.

One module for every upload point — an assignment's attachments (the desk form and the API), the import of
«Инцидент Менеджмент»/ПОС exports, the gazetteer CSV. A file is refused, with a Russian sentence naming the file and
the problem, when:
1. its extension is not one the use allows;
2. it is empty or larger than the use's limit (OTKLIK_UPLOAD_MAX_MB unless the use has its own);
3. its first bytes do not match the type its extension claims (magic bytes: PDF, PNG, JPEG, WebP, HEIC, the zip
   container of DOCX/XLSX/ODT, the OLE container of DOC/XLS); a text file (CSV) must decode as UTF-8 or
   Windows-1251 (or be UTF-16 with a BOM) and carry no NUL bytes;
4. whatever its name, it is an executable or a web page (MZ, ELF, Mach-O, a shell script, <html>/<script>/<svg>):
   a file renamed to look harmless.
A name is sanitized before it is stored (`safe_filename`): no directories, no control or reserved characters.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SNIFF_BYTES = 4096
MB = 1024 * 1024


def _jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"})


def _heic(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS


def _pdf(head: bytes) -> bool:
    # The PDF reference lets a reader find the header within the first 1024 bytes.
    return b"%PDF-" in head[:1024]


def _zip(head: bytes) -> bool:
    """docx, xlsx and odt are zip containers."""
    return head.startswith(b"PK\x03\x04")


def _ole(head: bytes) -> bool:
    """Old Word and Excel files are OLE compound documents."""
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _doc(head: bytes) -> bool:
    # Word happily saves RTF under a .doc name; that is a document, not a threat.
    return _ole(head) or head.startswith(b"{\\rtf")


def _text(head: bytes) -> bool:
    """Text in UTF-8 (with or without a BOM) or Windows-1251, without NUL bytes (a binary file is not a CSV).

    The head of a longer file may end inside a multi-byte UTF-8 character.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 with a BOM (Excel's «Unicode text»): NUL bytes are part of it.
        try:
            codecs.getincrementaldecoder("utf-16")().decode(head, final=len(head) < SNIFF_BYTES)
        except UnicodeDecodeError:
            return False
        return True
    if b"\x00" in head:
        return False
    try:
        # Incremental: a character cut at the end of the head (of a longer file) is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        pass
    else:
        return True
    try:
        head.decode("cp1251")
    except UnicodeDecodeError:
        return False
    return True


# Whatever the extension says, these are never accepted: programs and pages a browser would run.
_EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
# A page starts with its markup (browsers sniff the start too); a CSV that merely quotes «<script>» in a citizen's
# message is not a page.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|script|svg|\?xml|iframe|object|embed|body|head|meta|title|a\s)", re.IGNORECASE
)


def is_dangerous(head: bytes) -> bool:
    """An executable (Windows, Linux, macOS, a script with #!) or a file starting with HTML/SVG/XML markup."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n\x00")
    return stripped.startswith(_EXECUTABLE_MAGIC) or _MARKUP.match(stripped) is not None


@dataclass(frozen=True)
class FileType:
    content_type: str
    looks_right: Callable[[bytes], bool]
    # A zip or OLE container's bytes cannot hide markup meant for a browser; a text file can.
    binary: bool = True


TYPES: dict[str, FileType] = {
    "jpg": FileType("image/jpeg", _jpeg),
    "jpeg": FileType("image/jpeg", _jpeg),
    "png": FileType("image/png", _png),
    "webp": FileType("image/webp", _webp),
    "heic": FileType("image/heic", _heic),
    "pdf": FileType("application/pdf", _pdf),
    "doc": FileType("application/msword", _doc),
    "docx": FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip),
    "xls": FileType("application/vnd.ms-excel", _ole),
    "xlsx": FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip),
    "odt": FileType("application/vnd.oasis.opendocument.text", _zip),
    "csv": FileType("text/csv", _text, binary=False),
    "tsv": FileType("text/tab-separated-values", _text, binary=False),
    "txt": FileType("text/plain", _text, binary=False),
}


@dataclass(frozen=True)
class UploadKind:
    """What one upload point accepts."""

    name: str
    extensions: tuple[str, ...]
    # None: settings.OTKLIK_UPLOAD_MAX_MB.
    max_mb: int | None = None

    @property
    def max_bytes(self) -> int:
        mb = self.max_mb if self.max_mb is not None else int(getattr(settings, "OTKLIK_UPLOAD_MAX_MB", 10))
        return mb * MB

    @property
    def accept(self) -> str:
        """The `accept` attribute of the file input."""
        return ",".join(f".{ext}" for ext in self.extensions)

    @property
    def listed(self) -> str:
        return ", ".join(self.extensions)


# An executor's photos and documents for the answer.
ATTACHMENT = UploadKind(
    "attachment", ("jpg", "jpeg", "png", "webp", "heic", "pdf", "doc", "docx", "xls", "xlsx", "odt")
)
# An export of «Инцидент Менеджмент» or ПОС (its own size limit: otklik.intake.importing.max_upload_bytes).
# An old .xls passes here and is then refused by the reader with advice to save it as XLSX.
IMPORT_TABLE = UploadKind("import", ("csv", "tsv", "txt", "xlsx", "xls"))
# The city's gazetteer.
GAZETTEER = UploadKind("gazetteer", ("csv", "txt"))


def extension_of(name: str) -> str:
    return PurePath(name or "").suffix.lower().lstrip(".")


_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")


def safe_filename(name: str, *, default: str = "file") -> str:
    """A name fit to store and to show: the last path component only, no control or reserved characters, no
    leading dots (hidden files, «..»), at most 150 characters with the extension kept."""
    base = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_CHARS.sub("_", base).strip().lstrip(".").strip()
    if not base or base.strip("_") == "":
        return default
    if len(base) > 150:
        path = PurePath(base)
        suffix = path.suffix[:20]
        base = path.stem[: 150 - len(suffix)] + suffix
    return base


def _head(upload: Any) -> bytes:
    with contextlib.suppress(AttributeError, OSError):
        upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    with contextlib.suppress(AttributeError, OSError):
        upload.seek(0)
    return head if isinstance(head, bytes) else bytes(head or b"")


def _size(upload: Any) -> int:
    size = getattr(upload, "size", None)
    return int(size) if size is not None else 0


def upload_problem(upload: Any, kind: UploadKind, *, max_bytes: int | None = None) -> str | None:
    """Why `upload` is refused for `kind` (a translated sentence naming the file), or None when it is acceptable.

    On success the upload's name is sanitized and its content type replaced by the one of its extension (the
    browser's word is not kept).
    """
    name = safe_filename(getattr(upload, "name", "") or "")
    ext = extension_of(name)
    if ext not in kind.extensions:
        return _("File «%(name)s»: this type of file is not accepted. Allowed: %(types)s.") % {
            "name": name,
            "types": kind.listed,
        }
    size = _size(upload)
    limit = max_bytes if max_bytes is not None else kind.max_bytes
    if size <= 0:
        return _("File «%(name)s» is empty.") % {"name": name}
    if size > limit:
        return _("File «%(name)s» is larger than %(mb)s MB; make it smaller or send a part of it.") % {
            "name": name,
            "mb": f"{limit / MB:g}",
        }
    file_type = TYPES[ext]
    head = _head(upload)
    looks_right = file_type.looks_right(head)
    if is_dangerous(head) and (not looks_right or not file_type.binary):
        return _("File «%(name)s» is a program or a web page, not a .%(ext)s file; it is not accepted.") % {
            "name": name,
            "ext": ext,
        }
    if not looks_right:
        return _(
            "File «%(name)s» is not really a .%(ext)s file (its contents do not match its name). "
            "Save it again in this format or choose another file."
        ) % {"name": name, "ext": ext}
    upload.name = name
    upload.content_type = file_type.content_type
    return None


def validate_upload(upload: Any, kind: UploadKind, *, max_bytes: int | None = None) -> Any:
    """`upload_problem` as a ValidationError (for forms and serializers); returns the upload."""
    problem = upload_problem(upload, kind, max_bytes=max_bytes)
    if problem is not None:
        raise ValidationError(problem, code="upload")
    return upload


def validate_uploads(uploads: Iterable[Any], kind: UploadKind, *, max_files: int | None = None) -> list[Any]:
    """Every file of a multiple upload; all problems at once."""
    files = list(uploads)
    if max_files is not None and len(files) > max_files:
        raise ValidationError(
            _("At most %(n)s files can be sent at once; you chose %(count)s.") % {"n": max_files, "count": len(files)},
            code="too_many",
        )
    problems = [problem for f in files if (problem := upload_problem(f, kind)) is not None]
    if problems:
        raise ValidationError(problems, code="upload")
    return files
