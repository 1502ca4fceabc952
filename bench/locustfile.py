"""Locust scenario for the load test: operators of the feedback service at work in the browser.

Run by `bench/load_test.py`, which prepares the database, the users and gunicorn; by hand:

    LOAD_USERS=load_op01,load_op02 LOAD_PASSWORD=secret \
        .venv/bin/locust -f bench/locustfile.py --headless -u 2 -r 1 -t 30s --host http://127.0.0.1:18000

Each simulated operator logs in through the login form (with its CSRF token) as one of `LOAD_USERS` and then does
what an operator does, with a think time of `LOAD_WAIT` seconds ("min,max", default "1,3") between actions:
opens the inbox on a saved view, changes filters the way the page does it (an HTMX request for the list region),
polls the "new items" counter, searches, opens incident cards with the HTMX requests a card makes on load
(similar answers, the live check of a draft answer), edits nothing but checks a draft answer as it is typed, opens
the dashboard now and then and a figure's link into the inbox (the list, then its counters), and (unless
`LOAD_WRITES=0`) takes an incident into work, a write action that is safe to repeat (the owner becomes the operator,
an event is recorded).

A response is a failure when its status is not the expected one or when the page is not the page asked for (a
login form instead of the inbox, say); every failure counts as an error of the load test.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import os
import random
import re
import threading
from typing import Any
from zoneinfo import ZoneInfo

from locust import HttpUser, between, task

USERS = [name for name in os.environ.get("LOAD_USERS", "operator").split(",") if name]
PASSWORD = os.environ.get("LOAD_PASSWORD", "otklik-demo")
WRITES = os.environ.get("LOAD_WRITES", "1") not in {"0", "false", "no"}
STATIC = os.environ.get("LOAD_STATIC", "0") in {"1", "true", "yes"}
_WAIT = [float(part) for part in os.environ.get("LOAD_WAIT", "1,3").split(",")]

CITY_ZONE = ZoneInfo("Asia/Yekaterinburg")  # the dashboard's periods end on the city's today
_user_numbers = itertools.count()
_lock = threading.Lock()

VIEWS = ["new", "triage", "routed", "ready", "overdue", "mine", "all"]
SORTS = ["due", "-created", "created"]
CHANNELS = ["vk", "telegram", "ok", "max", "im", "pos"]
# Words and places operators look for (the search box: text, address or incident number).
SEARCHES = [
    "вода",
    "горячей воды",
    "отопление",
    "яма",
    "ямы на дороге",
    "мусор",
    "двор",
    "освещение",
    "снег",
    "автобус",
    "Ленина",
    "Мира",
    "подъезд",
    "детская площадка",
    "светофор",
    "крыша",
    "канализация",
    "собаки",
]
DRAFTS = [
    "Добрый день! Информация передана в Департамент ЖКХ, специалисты проверят подачу воды до 18:00 сегодня.",
    "Здравствуйте. Данный вопрос находится на контроле, ремонт выполнят в ближайшее время.",
    "Добрый день! Яму на дороге заделают до конца недели, работы включены в план подрядчика.",
]

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
INCIDENT_LINK = re.compile(r'href="/incidents/(\d+)/"')
OPTION = re.compile(r'<select name="(group|department|territory)"[^>]*>(.*?)</select>', re.S)
OPTION_VALUE = re.compile(r'<option value="(\d+)"')
LOAD_GET = re.compile(r'hx-get="([^"]+)" hx-trigger="load"')
CHECK_POST = re.compile(r'hx-post="(/incidents/\d+/answers/check/)"')
TEXTAREA = re.compile(r'<textarea name="text"[^>]*>(.*?)</textarea>', re.S)
STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


class Operator(HttpUser):
    """One operator of the feedback service."""

    wait_time = between(_WAIT[0], _WAIT[-1])

    def on_start(self) -> None:
        with _lock:
            number = next(_user_numbers)
        self.username = USERS[number % len(USERS)]
        self.incident_ids: list[int] = []
        self.options: dict[str, list[str]] = {"group": [], "department": [], "territory": []}
        self.csrf = ""
        self.page_time = ""
        self.log_in()

    # --- helpers -------------------------------------------------------------------------------------------

    def log_in(self) -> None:
        with self.client.get("/login/", name="login form", catch_response=True) as response:
            match = CSRF_INPUT.search(response.text or "")
            if response.status_code != 200 or not match:
                response.failure(f"no login form: {response.status_code}")
                return
            response.success()
        with self.client.post(
            "/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1), "next": ""},
            headers={"Referer": f"{self.host}/login/"},
            name="login (POST → inbox)",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or not response.url or "/inbox/" not in response.url:
                response.failure(f"login failed: {response.status_code} at {response.url}")
                return
            self._remember(response.text)
            response.success()
        if STATIC:
            self._static(response.text)

    def _static(self, page: str) -> None:
        """A first visit loads the CSS and scripts once (a browser caches them afterwards)."""
        for url in sorted(set(STATIC_LINK.findall(page))):
            self.client.get(url, name="static file")

    def _remember(self, page: str) -> None:
        """Keep what a person sees on the page: the CSRF token, incident numbers, the filters' options."""
        self._remember_csrf(page)
        ids = [int(i) for i in INCIDENT_LINK.findall(page)]
        if ids:
            self.incident_ids = ids[:50]
        for name, body in OPTION.findall(page):
            values = OPTION_VALUE.findall(body)
            if values:
                self.options[name] = values
        self.page_time = dt.datetime.now(dt.UTC).isoformat()

    def _expect_page(self, response: Any, marker: str) -> bool:
        """200 and the page asked for (a session lost shows the login form with 200 after a redirect)."""
        if response.status_code != 200:
            response.failure(f"status {response.status_code}")
            return False
        text = response.text or ""
        if "/login/" in (response.url or "") and "/login/" not in marker:
            response.failure("redirected to the login form")
            return False
        if marker not in text:
            response.failure(f"no {marker!r} in the page")
            return False
        response.success()
        return True

    def _htmx(self, current: str, target: str = "") -> dict[str, str]:
        headers = {"HX-Request": "true", "HX-Current-URL": f"{self.host}{current}"}
        if target:
            headers["HX-Target"] = target
        if self.csrf:
            headers["X-CSRFToken"] = self.csrf
        return headers

    def _filters(self) -> dict[str, str]:
        params: dict[str, str] = {"view": random.choice(VIEWS)}
        roll = random.random()
        if roll < 0.25 and self.options["group"]:
            params["group"] = random.choice(self.options["group"])
        elif roll < 0.45 and self.options["department"]:
            params["department"] = random.choice(self.options["department"])
        elif roll < 0.55:
            params["channel"] = random.choice(CHANNELS)
        elif roll < 0.65 and self.options["territory"]:
            params["territory"] = random.choice(self.options["territory"])
        elif roll < 0.8:
            today = dt.datetime.now(dt.UTC).date()
            params["date_from"] = (today - dt.timedelta(days=random.choice([1, 7, 30]))).isoformat()
            params["date_to"] = today.isoformat()
        if random.random() < 0.3:
            params["sort"] = random.choice(SORTS)
        if random.random() < 0.1:
            params["page"] = "2"
        return params

    def _incident(self) -> int | None:
        if not self.incident_ids:
            self.inbox()
        return random.choice(self.incident_ids) if self.incident_ids else None

    # --- what an operator does --------------------------------------------------------------------------------

    @task(6)
    def inbox(self) -> None:
        """The inbox on a saved view (a full page, as after a click in the menu)."""
        view = random.choice(VIEWS)
        with self.client.get(
            "/inbox/", params={"view": view}, name="inbox: page (saved view)", catch_response=True
        ) as response:
            if self._expect_page(response, 'id="inbox-list"'):
                self._remember(response.text)

    @task(8)
    def inbox_filter(self) -> None:
        """A change of a filter: the form's HTMX request for the list region (with the out-of-band counters)."""
        params = self._filters()
        with self.client.get(
            "/inbox/",
            params=params,
            headers=self._htmx("/inbox/", "inbox-list"),
            name="inbox: filter (htmx list)",
            catch_response=True,
        ) as response:
            if self._expect_page(response, 'id="inbox-list"'):
                self._remember(response.text)

    @task(3)
    def inbox_poll(self) -> None:
        """The counter of new items the open inbox polls every 30 s."""
        since = self.page_time or dt.datetime.now(dt.UTC).isoformat()
        with self.client.get(
            "/inbox/new-count/",
            params={"view": random.choice(VIEWS), "since": since},
            headers=self._htmx("/inbox/"),
            name="inbox: new-count poll (htmx)",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"status {response.status_code}")

    @task(5)
    def search(self) -> None:
        """The search box (HTMX, as typed): words, an address, or an incident number."""
        if random.random() < 0.2 and self.incident_ids:
            query = str(random.choice(self.incident_ids))
        else:
            query = random.choice(SEARCHES)
        params = {"view": "all", "q": query}
        with self.client.get(
            "/inbox/",
            params=params,
            headers=self._htmx("/inbox/", "inbox-list"),
            name="inbox: search (htmx list)",
            catch_response=True,
        ) as response:
            if self._expect_page(response, 'id="inbox-list"'):
                self._remember(response.text)

    @task(8)
    def card(self) -> None:
        """An incident card, then the requests its page makes on load."""
        pk = self._incident()
        if pk is None:
            return
        url = f"/incidents/{pk}/"
        with self.client.get(url, name="card: page", catch_response=True) as response:
            if not self._expect_page(response, 'id="card"'):
                return
            page = response.text
        self._remember_csrf(page)
        for loaded in LOAD_GET.findall(page):
            with self.client.get(
                html.unescape(loaded),
                headers=self._htmx(url),
                name="card: similar answers (htmx load)",
                catch_response=True,
            ) as response:
                self._ok(response)
        check = CHECK_POST.search(page)
        if check:
            drafts = TEXTAREA.findall(page)
            text = html.unescape(drafts[0]) if drafts and drafts[0].strip() else random.choice(DRAFTS)
            self._check_answer(check.group(1), url, text, name="card: answer check (htmx load)")

    @task(2)
    def card_block(self) -> None:
        """Opening «what Otklik understood» for editing, and cancelling (HTMX partials of the card)."""
        pk = self._incident()
        if pk is None:
            return
        url = f"/incidents/{pk}/"
        for params, name in (({"edit": "classify"}, "card: edit block (htmx)"), ({"block": "understood"}, None)):
            with self.client.get(
                url,
                params=params,
                headers=self._htmx(url, "understood"),
                name=name or "card: cancel edit (htmx)",
                catch_response=True,
            ) as response:
                self._ok(response)

    @task(2)
    def draft_answer(self) -> None:
        """The live check of an answer as the operator types it (HTMX POST; nothing is stored)."""
        pk = self._incident()
        if pk is None:
            return
        self._check_answer(
            f"/incidents/{pk}/answers/check/",
            f"/incidents/{pk}/",
            random.choice(DRAFTS),
            name="card: answer check (typing)",
        )

    @task(2)
    def dashboard_figure(self) -> None:
        """A dashboard figure's link into the inbox (its posts, negative posts or satisfied answers over a period
        ending today): the page lists first, then asks for its counters (HTMX, on load)."""
        today = dt.datetime.now(CITY_ZONE).date()
        start = (today - dt.timedelta(days=random.choice([0, 6, 29, 89]))).isoformat()
        kind = random.choice(["posts", "negative", "satisfied"])
        if kind == "satisfied":
            params = {"view": "all", "merged": "0", "final_from": start, "final_to": today.isoformat()}
            params["satisfied"] = "1"
        else:
            params = {"view": "all", "posts_from": start, "posts_to": today.isoformat()}
            if kind == "negative":
                params["negative"] = "1"
        with self.client.get(
            "/inbox/", params=params, name="inbox: a dashboard figure's list", catch_response=True
        ) as response:
            if not self._expect_page(response, 'id="inbox-list"'):
                return
            self._remember(response.text)
            counts = [html.unescape(url) for url in LOAD_GET.findall(response.text) if url.startswith("/inbox/counts/")]
        if not counts:
            return
        with self.client.get(
            counts[0], headers=self._htmx("/inbox/"), name="inbox: its counters (htmx, on load)", catch_response=True
        ) as response:
            self._expect_page(response, 'data-count="all"')

    @task(1)
    def dashboard(self) -> None:
        """The dashboard now and then: a period preset, sometimes a group."""
        params = {"period": random.choice(["today", "week", "month", "quarter"])}
        if random.random() < 0.3 and self.options["group"]:
            params["group"] = random.choice(self.options["group"])
        with self.client.get("/dashboard/", params=params, name="dashboard", catch_response=True) as response:
            self._expect_page(response, 'id="dashboard"')

    @task(1)
    def take(self) -> None:
        """Take an incident into work (HTMX POST from the card's header; repeatable)."""
        if not WRITES:
            return
        pk = self._incident()
        if pk is None:
            return
        url = f"/incidents/{pk}/"
        with self.client.post(
            f"/incidents/{pk}/take/",
            data={"csrfmiddlewaretoken": self.csrf},
            headers=self._htmx(url, "card"),
            name="card: take into work (htmx POST)",
            catch_response=True,
        ) as response:
            self._ok(response)

    # --- small helpers ------------------------------------------------------------------------------------

    def _remember_csrf(self, page: str) -> None:
        match = CSRF_HEADER.search(page)
        if match:
            self.csrf = match.group(1)

    def _check_answer(self, path: str, current: str, text: str, *, name: str) -> None:
        with self.client.post(
            path,
            data={"text": text, "kind": "final", "csrfmiddlewaretoken": self.csrf},
            headers=self._htmx(current),
            name=name,
            catch_response=True,
        ) as response:
            self._ok(response)

    @staticmethod
    def _ok(response: Any) -> None:
        if response.status_code == 200:
            response.success()
        else:
            response.failure(f"status {response.status_code}")
