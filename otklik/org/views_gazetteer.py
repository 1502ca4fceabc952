"""The gazetteer page of the head of the service: upload the city's CSV, list and search streets, buildings and
landmarks. The import itself is otklik.org.gazetteer.do_import_gazetteer (format: otklik.nlp.gazetteer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from otklik.core import uploads
from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import export_filename, wants_xlsx, xlsx_response
from otklik.org.forms import StyledFormMixin
from otklik.org.gazetteer import do_import_gazetteer
from otklik.org.models import Building, Landmark, Street
from otklik.org.views import paginate

MAX_UPLOAD = 10 * 1024 * 1024
SHOWN_ERRORS = 50
WHATS = ("buildings", "streets", "landmarks")


class GazetteerUploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Gazetteer CSV"),
        help_text=gettext_lazy(
            "Columns: kind; street_type; street; house; name; aliases; district; company. UTF-8 or cp1251, "
            "separated by ';' or ','. Rows are added or updated; bad rows are listed and skipped."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        # A CSV in UTF-8 or cp1251 by extension and contents (otklik.core.uploads).
        return uploads.validate_upload(upload, uploads.GAZETTEER, max_bytes=MAX_UPLOAD)


def _rows(what: str, q: str) -> Any:
    if what == "streets":
        streets = Street.objects.select_related("territory", "company").annotate(n=Count("buildings"))
        if q:
            streets = streets.filter(Q(name__icontains=q) | Q(aliases__icontains=q))
        return streets.order_by("street_type", "name")
    if what == "landmarks":
        landmarks = Landmark.objects.select_related("building__street", "territory")
        if q:
            landmarks = landmarks.filter(Q(name__icontains=q) | Q(aliases__icontains=q))
        return landmarks.order_by("name")
    buildings = Building.objects.select_related("street__territory", "street__company", "territory", "company")
    if q:
        street, _sep, house = q.rpartition(" ")
        condition = Q(street__name__icontains=q) | Q(street__aliases__icontains=q)
        if street and house[:1].isdigit():
            condition |= Q(street__name__icontains=street.strip(" ,"), house__istartswith=house)
        buildings = buildings.filter(condition)
    return buildings.order_by("street__name", "house")


def _name(value: Any) -> str:
    return str(value) if value is not None else ""


def export_gazetteer(what: str, rows: Any) -> HttpResponse:
    """The shown tab (streets, buildings or landmarks) with its search, as XLSX: the same columns as the page."""
    if what == "streets":
        headers: list[Any] = [
            "ID",
            _("Street"),
            (_("Other names"), 40),
            _("District"),
            _("Managing company"),
            _("Buildings"),
        ]
        lines: Iterator[list[Any]] = (
            [s.pk, str(s), s.aliases, _name(s.territory), _name(s.company), s.n] for s in rows.iterator(chunk_size=2000)
        )
        title = _("Streets")
    elif what == "landmarks":
        headers = ["ID", _("Landmark"), (_("Other names"), 40), _("Building"), _("District")]
        lines = (
            [lm.pk, lm.name, lm.aliases, _name(lm.building), _name(lm.territory)]
            for lm in rows.iterator(chunk_size=2000)
        )
        title = _("Landmarks")
    else:
        headers = ["ID", _("Street"), _("House"), _("District"), _("Managing company")]
        lines = (
            [
                b.pk,
                str(b.street),
                b.house,
                _name(b.territory or b.street.territory),
                _name(b.company or b.street.company),
            ]
            for b in rows.iterator(chunk_size=2000)
        )
        title = _("Buildings")
    return xlsx_response(export_filename(f"gazetteer-{what}"), [(title, headers, lines)])


@head_required
def gazetteer(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    what = request.GET.get("what", "buildings")
    what = what if what in WHATS else "buildings"
    if wants_xlsx(request):
        return export_gazetteer(what, _rows(what, q))
    context = {
        "page": paginate(request, _rows(what, q)),
        "q": q,
        "what": what,
        "form": GazetteerUploadForm(),
        "counts": {
            "streets": Street.objects.count(),
            "buildings": Building.objects.count(),
            "landmarks": Landmark.objects.count(),
        },
    }
    return render_page(request, "org/gazetteer.html", context, partial="results")


@head_required
@require_POST
def gazetteer_import(request: HttpRequest) -> HttpResponse:
    form = GazetteerUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        context = {
            "page": paginate(request, _rows("buildings", "")),
            "q": "",
            "what": "buildings",
            "form": form,
            "counts": {
                "streets": Street.objects.count(),
                "buildings": Building.objects.count(),
                "landmarks": Landmark.objects.count(),
            },
        }
        return render(request, "org/gazetteer.html", context, status=400)
    report = do_import_gazetteer(form.cleaned_data["file"].read())
    created, updated = sum(report.created.values()), sum(report.updated.values())
    messages.success(
        request,
        _("Gazetteer imported: %(created)s added, %(updated)s updated, %(same)s unchanged, %(bad)s rows rejected.")
        % {"created": created, "updated": updated, "same": report.unchanged, "bad": len(report.errors)},
    )
    for error in report.errors[:SHOWN_ERRORS]:
        messages.warning(request, _("Line %(line)s: %(reason)s") % {"line": error.line, "reason": error.reason})
    if len(report.errors) > SHOWN_ERRORS:
        messages.warning(request, _("… and %(n)s more rejected rows.") % {"n": len(report.errors) - SHOWN_ERRORS})
    return redirect("settings-gazetteer")
