"""The knowledge base of methodological recommendations (/kb/): the service reads, the head of the service edits.

Each article lists the quality checks it explains (`Article.codes`); a finding in the answer editor links to
`/kb/check/<code>/`, which opens the first published article for that code (or the list filtered by it). Articles
are reference data: edited directly and logged in the admin log like routing rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from otklik.answers.checks import CODES, DEFAULT_SEVERITY
from otklik.answers.forms_kb import ArticleForm, code_label
from otklik.answers.models import Article
from otklik.core.decorators import head_required, service_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.org.forms import save_logged
from otklik.org.views import search

if TYPE_CHECKING:
    from otklik.accounts.models import User


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def is_editor(user: Any) -> bool:
    """Who edits the knowledge base: the head of the service and admins (as `head_required`)."""
    return bool(user.is_superuser or user.role in {"head", "admin"})


def _visible(user: Any) -> Any:
    articles = Article.objects.all()
    return articles if is_editor(user) else articles.filter(is_published=True)


def _checks(codes: list[str]) -> list[dict[str, str]]:
    return [
        {"code": code, "label": code_label(code), "severity": DEFAULT_SEVERITY[code]} for code in codes if code in CODES
    ]


def export_articles(request: HttpRequest, articles: list[Article]) -> HttpResponse:
    """The articles the user may read, as found (the knowledge base is small: already a list)."""
    headers = [
        (field_header(Article, "title"), 40),
        (field_header(Article, "codes"), 40),
        (field_header(Article, "body"), 80),
        (field_header(Article, "good_example"), 50),
        (field_header(Article, "bad_example"), 50),
        field_header(Article, "is_published"),
        field_header(Article, "updated_at"),
        _("Link"),
    ]
    lines = [
        [
            a.title,
            ", ".join(str(code_label(c)) for c in (a.codes or []) if c in CODES),
            a.body,
            a.good_example,
            a.bad_example,
            a.is_published,
            a.updated_at,
            absolute(request, reverse("kb-article", args=[a.slug])),
        ]
        for a in articles
    ]
    return xlsx_response(export_filename("knowledge-base"), [(_("Knowledge base"), headers, lines)])


@service_required
def kb_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    code = request.GET.get("code", "")
    code = code if code in CODES else ""
    articles = search(_visible(request.user), q, ["title", "body", "good_example", "bad_example"]).order_by("title")
    rows = list(articles)
    if code:
        # `codes` is a JSON list: filtered here, the same on SQLite and PostgreSQL (the base is small).
        rows = [a for a in rows if code in (a.codes or [])]
    if wants_xlsx(request):
        return export_articles(request, rows)
    for article in rows:
        article.checks = _checks(article.codes or [])  # type: ignore[attr-defined]
    context = {
        "articles": rows,
        "q": q,
        "code": code,
        "codes": [(c, code_label(c)) for c in CODES],
        "can_edit": is_editor(request.user),
    }
    return render_page(request, "answers/kb_list.html", context, partial="results")


@service_required
def kb_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(_visible(request.user), slug=slug)
    context = {"article": article, "checks": _checks(article.codes or []), "can_edit": is_editor(request.user)}
    return render(request, "answers/kb_article.html", context)


@service_required
def kb_check(request: HttpRequest, code: str) -> HttpResponse:
    """The recommendation for a quality finding: its first published article — the most specific one (fewest
    checks), then by title — else the list filtered by the code."""
    if code not in CODES:
        raise Http404(_("No such quality check."))
    articles = [a for a in Article.objects.filter(is_published=True) if code in (a.codes or [])]
    if articles:
        first = min(articles, key=lambda a: (len(a.codes), a.title, a.pk))
        return redirect("kb-article", slug=first.slug)
    return redirect(f"{reverse('kb')}?{urlencode({'code': code})}")


def _form_page(request: HttpRequest, article: Article | None) -> HttpResponse:
    form = ArticleForm(request.POST if request.method == "POST" else None, instance=article)
    if request.method == "POST" and form.is_valid():
        actor = _user(request)

        def stamp(obj: Article) -> None:
            obj.updated_by = actor

        saved = save_logged(form, actor, prepare_new=stamp)
        if form.has_changed() and article is not None:
            # save_logged writes the changed columns only: who edited and when go with them.
            saved.updated_by = actor
            saved.save(update_fields=["updated_by", "updated_at"])
        messages.success(request, _("The article «%(title)s» is saved.") % {"title": saved.title})
        return redirect("kb-article", slug=saved.slug)
    return render(request, "answers/kb_form.html", {"form": form, "article": article})


@head_required
def kb_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@head_required
def kb_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _form_page(request, get_object_or_404(Article, slug=slug))
