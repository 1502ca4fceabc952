"""The staff Telegram chat against a local fake Bot API server: sent once, 429 and 5xx retried, 400 failed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from otklik.notifications.choices import DeliveryStatus
from otklik.notifications.models import StaffMessage
from otklik.notifications.telegram import TelegramRetry, deliver, do_post_to_staff_chat


class FakeBotApi:
    """Answers POST /bot<token>/sendMessage with the queued replies (status, body); records the requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.replies: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                fake.requests.append((self.path, body))
                status, reply = (
                    fake.replies.pop(0)
                    if fake.replies
                    else (200, {"ok": True, "result": {"message_id": len(fake.requests)}})
                )
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bot(settings):
    fake = FakeBotApi()
    settings.OTKLIK_TELEGRAM_API_URL = fake.url
    settings.OTKLIK_TELEGRAM_BOT_TOKEN = "123:secret"
    settings.OTKLIK_TELEGRAM_STAFF_CHAT_ID = "-1001"
    yield fake
    fake.close()


@pytest.mark.django_db
def test_a_message_is_sent_once(bot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = do_post_to_staff_chat("Просрочено: 3", dedup_key="k1")
        assert do_post_to_staff_chat("Просрочено: 3", dedup_key="k1") is None
    assert message is not None
    assert bot.requests == [
        ("/bot123:secret/sendMessage", {"chat_id": "-1001", "text": "Просрочено: 3", "disable_web_page_preview": True})
    ]
    message.refresh_from_db()
    assert message.status == DeliveryStatus.SENT and message.message_id == 1
    assert deliver(message.pk) == DeliveryStatus.SENT  # a redelivery sends nothing
    assert len(bot.requests) == 1


@pytest.mark.django_db
def test_too_many_requests_and_server_errors_are_retried(bot):
    message = StaffMessage.objects.create(dedup_key="k2", text="Срочно")
    bot.replies = [
        (429, {"ok": False, "description": "Too Many Requests", "parameters": {"retry_after": 7}}),
        (502, {"ok": False, "description": "Bad Gateway"}),
    ]
    with pytest.raises(TelegramRetry) as first:
        deliver(message.pk)
    assert first.value.after == 7
    with pytest.raises(TelegramRetry):
        deliver(message.pk)
    assert deliver(message.pk) == DeliveryStatus.SENT
    message.refresh_from_db()
    assert message.attempts == 3 and len(bot.requests) == 3


@pytest.mark.django_db
def test_a_refusal_fails_with_the_reason(bot):
    message = StaffMessage.objects.create(dedup_key="k3", text="x")
    bot.replies = [(400, {"ok": False, "description": "Bad Request: chat not found"})]
    assert deliver(message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert "chat not found" in message.error


@pytest.mark.django_db
def test_an_unreachable_server_is_retried(settings):
    settings.OTKLIK_TELEGRAM_API_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.OTKLIK_TELEGRAM_BOT_TOKEN = "1:x"
    settings.OTKLIK_TELEGRAM_STAFF_CHAT_ID = "1"
    message = StaffMessage.objects.create(dedup_key="k4", text="x")
    with pytest.raises(TelegramRetry):
        deliver(message.pk)
    message.refresh_from_db()
    assert message.status == DeliveryStatus.PENDING and message.error


@pytest.mark.django_db
def test_off_without_settings(settings):
    settings.OTKLIK_TELEGRAM_BOT_TOKEN = ""
    assert do_post_to_staff_chat("x", dedup_key="k5") is None
    assert not StaffMessage.objects.exists()


@pytest.mark.django_db
def test_overdue_clocks_reach_the_staff_chat(bot, django_capture_on_commit_callbacks):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from otklik.cases.models import Incident
    from otklik.sla.choices import ClockKind
    from otklik.sla.clocks import do_start_clock
    from otklik.sla.escalation import sweep

    ekb = ZoneInfo("Asia/Yekaterinburg")
    incident = Incident.objects.create()
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=dt.datetime(2026, 12, 1, 9, tzinfo=ekb))
    with django_capture_on_commit_callbacks(execute=True):
        sweep(dt.datetime(2026, 12, 1, 9, 50, tzinfo=ekb))  # warning only: not for the chat
    assert bot.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        sweep(dt.datetime(2026, 12, 1, 12, tzinfo=ekb))
    assert len(bot.requests) == 1
    assert f"№{incident.pk}" in bot.requests[0][1]["text"]
