"""Otklik settings: one module, driven by environment variables (OTKLIK_*).

SQLite (embedded) is the default; OTKLIK_DB=postgres switches to PostgreSQL.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OTKLIK_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("OTKLIK_DEBUG", False)
# The embedded demo runs without a configured secret; production must set one.
EMBEDDED_SECRET_KEY = "otklik-embedded-demo-key-change-me-in-production-0123456789"  # noqa: S105 (public on purpose)
SECRET_KEY = env_str("OTKLIK_SECRET_KEY", EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env_list("OTKLIK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("OTKLIK_CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("OTKLIK_SITE_URL", "http://127.0.0.1:8000")

# --- HTTPS, cookies, security headers (docs/DEPLOY.md, "Security settings") ----------------------------------
# An installation with a secret key of its own and DEBUG off is a production one: HTTPS only (redirect, HSTS),
# Secure cookies, hashed static files (STORAGES below). The embedded demo (`make run`) and the test suite have no
# secret key of their own and speak plain http on 127.0.0.1. OTKLIK_HTTPS overrides the guess either way.
OTKLIK_PRODUCTION = not DEBUG and SECRET_KEY != EMBEDDED_SECRET_KEY
OTKLIK_HTTPS = env_bool("OTKLIK_HTTPS", OTKLIK_PRODUCTION)
if OTKLIK_HTTPS and SECRET_KEY == EMBEDDED_SECRET_KEY:
    raise ImproperlyConfigured("OTKLIK_HTTPS is on but OTKLIK_SECRET_KEY is not set: the demo key is public.")
SECURE_SSL_REDIRECT = OTKLIK_HTTPS
# Monitoring may ask gunicorn directly over http on 127.0.0.1: /healthz answers instead of redirecting.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
# nginx terminates TLS and tells the scheme in X-Forwarded-Proto (deploy/nginx-otklik.conf overwrites whatever the
# client sent): trust it only when the web processes are reachable through the proxy alone (gunicorn on 127.0.0.1).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("OTKLIK_BEHIND_PROXY", OTKLIK_HTTPS) else None
SECURE_HSTS_SECONDS = env_int("OTKLIK_HSTS_SECONDS", 365 * 24 * 3600) if OTKLIK_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("OTKLIK_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("OTKLIK_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = OTKLIK_HTTPS
# No script reads a cookie: the CSRF token travels in the page (base.html's hx-headers, the forms).
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"
if OTKLIK_HTTPS:
    # __Host-: the browser takes the cookie only over HTTPS, for this host alone (no Domain), for path / — a sibling
    # subdomain of the city's domain cannot plant a session or a CSRF cookie.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# A working day: an operator logs in every morning; a stolen cookie does not live for weeks.
SESSION_COOKIE_AGE = env_int("OTKLIK_SESSION_HOURS", 12) * 3600

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "otklik.core",
    "otklik.accounts",
    "otklik.org",
    "otklik.intake",
    "otklik.nlp",
    "otklik.cases",
    "otklik.sla",
    "otklik.answers",
    "otklik.notifications",
    "otklik.satisfaction",
    "otklik.ops",
    "otklik.api",
    "otklik.documents",
    "otklik.stats",
    "otklik.privacy",
    "otklik.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "otklik.audit.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "otklik.core.middleware.RelaxedCspForVendorPagesMiddleware",
]

# A strict Content-Security-Policy (Django's own, successor of django-csp): templates carry no inline scripts or
# styles; everything comes from our static files. Django admin and Swagger UI get a relaxed policy (their own
# templates use inline code) from otklik.core.middleware.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

ROOT_URLCONF = "otklik.urls"
WSGI_APPLICATION = "otklik.wsgi.application"
# API paths work with and without a trailing slash through the URL patterns themselves: no redirects.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "otklik.core.context_processors.otklik",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
OTKLIK_DB = env_str("OTKLIK_DB", "sqlite")
if OTKLIK_DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str("OTKLIK_DB_NAME", "otklik"),
            "USER": env_str("OTKLIK_DB_USER", "postgres"),
            "PASSWORD": env_str("OTKLIK_DB_PASSWORD", ""),
            "HOST": env_str("OTKLIK_DB_HOST", "127.0.0.1"),
            "PORT": env_str("OTKLIK_DB_PORT", "5432"),
            "CONN_MAX_AGE": env_int("OTKLIK_DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            # JIT off for this OLTP workload (issue 9, docs/BENCHMARKS.md): at 1M posts many of the app's queries
            # cost just above jit_above_cost, and compiling them took 50–120 ms (2.6 s for a dashboard query) for
            # queries that run in tens of ms. OTKLIK_DB_JIT=1 keeps the server's setting (e.g. behind pgbouncer,
            # which refuses the `options` startup parameter: then set `jit = off` in postgresql.conf instead).
            "OPTIONS": {} if env_bool("OTKLIK_DB_JIT", False) else {"options": "-c jit=off"},
            "TEST": {"NAME": env_str("OTKLIK_TEST_DB_NAME", "test_otklik")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("OTKLIK_DB_NAME", str(VAR_DIR / "otklik.sqlite3")),
            "OPTIONS": {
                # Web, worker and beat share one file: WAL lets readers work beside a writer, IMMEDIATE takes
                # the write lock at BEGIN (no lock upgrade deadlock), and the timeout waits instead of failing.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=30000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
            # A file (not :memory:) so that a Celery worker started by an integration test sees the same data.
            "TEST": {"NAME": env_str("OTKLIK_TEST_DB_NAME", str(VAR_DIR / "test-otklik.sqlite3"))},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Login throttling (otklik.accounts.lockout, docs/SECURITY.md): failures are counted in the database over the window;
# at the limit the username from that address (or the address, or the username) is locked; 0 turns a limit off.
AUTHENTICATION_BACKENDS = ["otklik.accounts.backends.LockoutModelBackend"]
OTKLIK_LOGIN_MAX_FAILURES = env_int("OTKLIK_LOGIN_MAX_FAILURES", 5)
OTKLIK_LOGIN_MAX_FAILURES_PER_IP = env_int("OTKLIK_LOGIN_MAX_FAILURES_PER_IP", 30)
OTKLIK_LOGIN_MAX_FAILURES_PER_USER = env_int("OTKLIK_LOGIN_MAX_FAILURES_PER_USER", 30)
OTKLIK_LOGIN_FAILURE_WINDOW_MINUTES = env_int("OTKLIK_LOGIN_FAILURE_WINDOW_MINUTES", 15)
OTKLIK_LOGIN_LOCKOUT_MINUTES = env_int("OTKLIK_LOGIN_LOCKOUT_MINUTES", 15)
# How many reverse proxies of our own (nginx…) stand before gunicorn: the client's address is then read from
# X-Forwarded-For (the entry the outermost one wrote). 0: REMOTE_ADDR; X-Forwarded-For is ignored.
OTKLIK_TRUSTED_PROXY_COUNT = env_int("OTKLIK_TRUSTED_PROXY_COUNT", 0)
# Uploads (otklik.core.uploads): the largest accepted file of each kind, in MB.
OTKLIK_UPLOAD_MAX_MB = env_int("OTKLIK_UPLOAD_MAX_MB", 10)

# --- Language, time ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "ru"
# The UI speaks Russian whatever the browser asks for (English msgids are the source, not a choice).
LANGUAGES = [("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("OTKLIK_TIME_ZONE", "Asia/Yekaterinburg")

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("OTKLIK_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("OTKLIK_MEDIA_ROOT", str(VAR_DIR / "media")))
# Static files are served by the web processes themselves (whitenoise; nginx may serve STATIC_ROOT instead). In
# production `collectstatic` writes hashed, compressed copies to STATIC_ROOT, which browsers cache for a year; a
# page naming a file missing from the manifest fails loudly. The embedded mode and the tests need no collectstatic:
# whitenoise finds the source files on demand (no scan of every static file at each start of the middleware).
OTKLIK_STATIC_MANIFEST = env_bool("OTKLIK_STATIC_MANIFEST", OTKLIK_PRODUCTION)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if OTKLIK_STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = not OTKLIK_STATIC_MANIFEST

# --- E-mail -----------------------------------------------------------------------------------------------
_EMAIL_BACKEND = env_str("OTKLIK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_EMAIL_OPTIONS: dict[str, object] = {}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": env_str("OTKLIK_EMAIL_HOST", "localhost"),
        "port": env_int("OTKLIK_EMAIL_PORT", 25),
        "username": env_str("OTKLIK_EMAIL_HOST_USER"),
        "password": env_str("OTKLIK_EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("OTKLIK_EMAIL_USE_TLS", False),
    }
OTKLIK_EMAIL_RATE_LIMIT = env_str("OTKLIK_EMAIL_RATE_LIMIT") or None
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
# A staff Telegram chat for escalations (Bot API over HTTPS); off unless both the token and the chat are set.
OTKLIK_TELEGRAM_BOT_TOKEN = env_str("OTKLIK_TELEGRAM_BOT_TOKEN")
OTKLIK_TELEGRAM_STAFF_CHAT_ID = env_str("OTKLIK_TELEGRAM_STAFF_CHAT_ID")
OTKLIK_TELEGRAM_API_URL = env_str("OTKLIK_TELEGRAM_API_URL", "https://api.telegram.org")
DEFAULT_FROM_EMAIL = env_str("OTKLIK_DEFAULT_FROM_EMAIL", "otklik@localhost")

# --- REST API ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: its "Token" challenge makes an unauthenticated request a 401 (not a 403).
        "otklik.api.auth.TokenAuthentication",
        # The UI's own requests.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: scripts and other systems rely on it; people read /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "otklik.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "otklik.api.errors.exception_handler",
}
REST_KNOX = {
    "TOKEN_TTL": None,  # revoked explicitly (logout, create_api_token --revoke-all), not by age
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Otklik API",
    "DESCRIPTION": (
        "Integration API of Otklik: posts in, incidents out, and the lifecycle actions of the service.\n\n"
        "Authentication: `Authorization: Token <key>` (a token from `python manage.py create_api_token USERNAME`). "
        'Every path works with and without a trailing slash. Errors: 400 `{"field": ["message", …]}`, '
        '401/403/404 `{"detail": …}`, 409 `{"detail": …, "code": "illegal_transition"}`. '
        "Input objects with unknown fields are refused with 400 naming each of them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "PREPROCESSING_HOOKS": ["otklik.api.schema.strip_optional_slash"],
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "otklik.cases.choices.IncidentStatus",
        "AssignmentStatusEnum": "otklik.cases.choices.AssignmentStatus",
        "AnswerStatusEnum": "otklik.answers.choices.AnswerStatus",
        "AnswerKindEnum": "otklik.answers.choices.AnswerKind",
        "NotificationKindEnum": "otklik.notifications.choices.NotificationKind",
    },
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package: no CDN (the product runs offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("OTKLIK_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = env_str("OTKLIK_RESULT_BACKEND", f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}")
CELERY_TASK_ALWAYS_EAGER = env_bool("OTKLIK_CELERY_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Celery's Django fix-up closes the database connections before and after every task unless this is set: each task
# then connected to PostgreSQL anew (a new server process with cold caches per task; issue 9, docs/BENCHMARKS.md).
# With it the fix-up closes them only every so many tasks, and otklik.celery closes the unusable or obsolete ones
# around each task as Django does around a request (CONN_MAX_AGE, CONN_HEALTH_CHECKS: a connection broken by a
# database restart is not reused).
CELERY_DB_REUSE_MAX = env_int("OTKLIK_CELERY_DB_REUSE_MAX", 1000)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Redis: a message not acknowledged within this time is delivered again. It must exceed the longest retry
# countdown (otklik.notifications.tasks: 30 min), or a delayed retry would be duplicated. Workers look for such
# messages (of a worker that died) every OTKLIK_BROKER_RESTORE_INTERVAL seconds (kombu's default, 10 s × a
# throttle of 10, would look only every 100 s).
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": env_int("OTKLIK_BROKER_VISIBILITY_TIMEOUT", 7200),
    "unacked_restore_interval": env_int("OTKLIK_BROKER_RESTORE_INTERVAL", 60),
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("sqla+"):
    # kombu's SQLAlchemy transport passes its transport options to create_engine() (visibility_timeout would make
    # it fail): only engine arguments. Web, worker and beat share the SQLite broker file: wait, don't fail.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
    # This transport polls once a second and takes at most the prefetch count per poll: with 1 a worker of
    # concurrency 2 would run 2 tasks a second however short they are. Unacknowledged messages go back to the
    # queue on a warm shutdown; after a crash the sweeps re-send the work.
    CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("OTKLIK_WORKER_PREFETCH_MULTIPLIER", 16)
if CELERY_RESULT_BACKEND.startswith("db+sqlite"):
    CELERY_DATABASE_ENGINE_OPTIONS = {"connect_args": {"timeout": 30}}
# Every task is recorded in ops.TaskRun and idempotent (otklik.ops.recording); heartbeats in ops.Heartbeat.
# Answer quality checks (docs/ANSWERS.md): per-code severity "error" | "warning" | "off", and the length bounds.
OTKLIK_ANSWER_CHECK_SEVERITY: dict[str, str] = {}
OTKLIK_ANSWER_MIN_CHARS = env_int("OTKLIK_ANSWER_MIN_CHARS", 80)
OTKLIK_ANSWER_MAX_CHARS = env_int("OTKLIK_ANSWER_MAX_CHARS", 2500)
# The publishing outbox (docs/ANSWERS.md, "Publishing: the outbox"): an adapter class per channel
# ({"vk": "dotted.path.Class"}; none: every channel is published by hand), attempts, back-off, a worker's lease.
OTKLIK_CHANNEL_ADAPTERS: dict[str, str] = {
    "vk": "otklik.intake.connectors.vk.VkChannelAdapter",
    "telegram": "otklik.intake.connectors.telegram.TelegramChannelAdapter",
}
OTKLIK_PUBLICATION_MAX_ATTEMPTS = env_int("OTKLIK_PUBLICATION_MAX_ATTEMPTS", 8)
OTKLIK_PUBLICATION_RETRY_SECONDS = env_int("OTKLIK_PUBLICATION_RETRY_SECONDS", 60)
OTKLIK_PUBLICATION_RETRY_MAX_SECONDS = env_int("OTKLIK_PUBLICATION_RETRY_MAX_SECONDS", 3600)
OTKLIK_PUBLICATION_STALE_MINUTES = env_int("OTKLIK_PUBLICATION_STALE_MINUTES", 10)
# The inbox at city scale (issue 9): each saved view is counted up to this many incidents (more shows «10 000+»;
# paging past it still works), and a search keeps at most this many of its newest matching incidents (a note asks
# to narrow the query; the XLSX export still takes every match).
OTKLIK_INBOX_COUNT_CAP = env_int("OTKLIK_INBOX_COUNT_CAP", 10_000)
OTKLIK_INBOX_SEARCH_LIMIT = env_int("OTKLIK_INBOX_SEARCH_LIMIT", 5_000)
# A search looks for those newest matches among this many newest incidents first, then in as many before them as
# should hold the rest, then in all older ones (the same result; a frequent word's older posts are not read at all).
# 0: always search everything at once.
OTKLIK_INBOX_SEARCH_WINDOW = env_int("OTKLIK_INBOX_SEARCH_WINDOW", 100_000)
# The similar answers offered in the editor (otklik.answers.similar): a process asks the database whether its index
# is current at most this often (an answer published by another process is offered up to this late).
OTKLIK_SIMILAR_CHECK_SECONDS = env_float("OTKLIK_SIMILAR_CHECK_SECONDS", 10.0)
# Polling the networks (docs/CHANNELS.md, "Sources and polling"): failed polls in a row before a source is broken.
OTKLIK_SOURCE_MAX_FAILURES = env_int("OTKLIK_SOURCE_MAX_FAILURES", 5)
# Personal data (152-ФЗ, docs/SECURITY.md): authors' data is erased this many days after the post, once its incident
# is no longer open (a nightly job); 0 turns it off.
OTKLIK_PERSONAL_DATA_RETENTION_DAYS = env_int("OTKLIK_PERSONAL_DATA_RETENTION_DAYS", 1095)
# The audit log (docs/SECURITY.md): changes made by tasks are recorded only for users, lockouts, tokens and sources
# unless this is on (it would double the writes of ingestion).
OTKLIK_AUDIT_SYSTEM_CHANGES = env_bool("OTKLIK_AUDIT_SYSTEM_CHANGES", False)
HEARTBEAT_INTERVAL_SECONDS = env_int("OTKLIK_HEARTBEAT_INTERVAL", 30)
# A worker heartbeat older than this makes /healthz answer 503.
HEARTBEAT_MAX_AGE_SECONDS = env_int("OTKLIK_HEARTBEAT_MAX_AGE", 120)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "otklik.ops.tasks.heartbeat",
        "schedule": timedelta(seconds=HEARTBEAT_INTERVAL_SECONDS),
        "options": {"expires": HEARTBEAT_INTERVAL_SECONDS},
    },
    "poll-due-sources": {
        "task": "otklik.intake.tasks.poll_due_sources",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 25},
    },
    "sweep-unanalyzed-posts": {
        "task": "otklik.intake.tasks.sweep_unanalyzed_posts",
        "schedule": timedelta(minutes=5),
    },
    "sweep-unsent-emails": {
        "task": "otklik.notifications.tasks.sweep_unsent_emails",
        "schedule": timedelta(minutes=10),
    },
    "remove-expired-personal-data": {
        "task": "otklik.privacy.tasks.remove_expired_personal_data",
        "schedule": crontab(hour=2, minute=40),
    },
    "purge-task-runs": {
        "task": "otklik.ops.tasks.purge_task_runs",
        "schedule": crontab(hour=3, minute=15),
    },
    "sla-sweep": {
        "task": "otklik.sla.tasks.sla_sweep",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    "sweep-publications": {
        "task": "otklik.answers.tasks.sweep_publications",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    "detect-spikes": {
        "task": "otklik.nlp.tasks.detect_spikes_task",
        "schedule": timedelta(minutes=10),
    },
    "sweep-surveys": {
        "task": "otklik.satisfaction.tasks.sweep_surveys",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 290},
    },
    # Weekly, Sunday 02:30 city time (CELERY_TIMEZONE): retrain the topic model on the operators' labels.
    "retrain-topic-model": {
        "task": "otklik.nlp.tasks.retrain_topic_model",
        "schedule": crontab(hour=2, minute=30, day_of_week="sunday"),
    },
    # Weekly, Monday 08:00 city time: last week's report to its subscribers (docs/STATS.md, «Weekly delivery»).
    "weekly-report": {
        "task": "otklik.stats.tasks.send_weekly_reports",
        "schedule": crontab(hour=8, minute=0, day_of_week="monday"),
    },
    # The dashboard's default views computed ahead (otklik.stats.snapshots; docs/STATS.md, «Speed»).
    "refresh-figure-snapshots": {
        "task": "otklik.stats.tasks.refresh_figure_snapshots",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
}

# --- Otklik -----------------------------------------------------------------------------------------------
OTKLIK_CITY_NAME = env_str("OTKLIK_CITY_NAME", "Нижневартовск")
# The key that encrypts the sources' tokens at rest (default: derived from SECRET_KEY; changing it makes stored tokens
# unreadable: enter them again).
OTKLIK_SECRETS_KEY = env_str("OTKLIK_SECRETS_KEY", "")
# The media department's e-mail for media briefs (docs/DOCUMENTS.md); empty: the briefs are downloaded only.
OTKLIK_MEDIA_EMAIL = env_str("OTKLIK_MEDIA_EMAIL", "")
# The service's contacts, the {{ contacts }} of answer templates.
OTKLIK_SERVICE_CONTACTS = env_str("OTKLIK_SERVICE_CONTACTS", "")
# The topic classifier, behind one interface (otklik.nlp.base.Classifier): the learned model (the active one in
# VAR_DIR/nlp/active, else the default built from the shipped corpus). The keyword classifier is
# "otklik.nlp.keywords.KeywordClassifier" (with OTKLIK_CLASSIFIER_THRESHOLD 0.35).
OTKLIK_CLASSIFIER = env_str("OTKLIK_CLASSIFIER", "otklik.nlp.learned.LearnedClassifier")
# Below this confidence an incident goes to triage instead of being routed automatically. For the learned model it
# is the group's probability; chosen on the corpus's held-out split (docs/NLP.md, "Topic and group").
OTKLIK_CLASSIFIER_THRESHOLD = env_float("OTKLIK_CLASSIFIER_THRESHOLD", 0.5)
# At most this many pending posts are analysed together by one analysis task (docs/NLP.md, "Batches"); 1 = one by one.
OTKLIK_ANALYSIS_BATCH = env_int("OTKLIK_ANALYSIS_BATCH", 16)
# The analysis message that intake sends for a new post waits this long (s) before a worker takes it, so that the
# posts arriving meanwhile ride on it and are analysed as one batch (docs/NLP.md, "Batches"); 0 = at once.
OTKLIK_ANALYSIS_GATHER_SECONDS = env_float("OTKLIK_ANALYSIS_GATHER_SECONDS", 0.25)
# Where the default model built from the shipped corpus is cached (one subdirectory per corpus + recipe digest).
OTKLIK_CLASSIFIER_DEFAULT_DIR = Path(env_str("OTKLIK_CLASSIFIER_DEFAULT_DIR", str(VAR_DIR / "nlp" / "default")))
# Default working-hour deadlines (DOMAIN.md): department information, answer (normal / priority).
OTKLIK_ASSIGNMENT_HOURS = env_float("OTKLIK_ASSIGNMENT_HOURS", 8)
OTKLIK_ANSWER_HOURS = env_float("OTKLIK_ANSWER_HOURS", 9)
OTKLIK_ANSWER_HOURS_PRIORITY = env_float("OTKLIK_ANSWER_HOURS_PRIORITY", 4)
# Publishing a final answer or a refusal closes the incident at once; False keeps it `answered` for follow-up
# (the citizen may reply) until an operator closes it.
OTKLIK_CLOSE_AFTER_FINAL_ANSWER = env_bool("OTKLIK_CLOSE_AFTER_FINAL_ANSWER", True)
# Satisfaction (docs/SATISFACTION.md): the thread is followed this many days after an answer; "Is the problem
# solved?" is asked this many days after a final answer and waits this many days for the reply.
OTKLIK_FOLLOW_UP_DAYS = env_int("OTKLIK_FOLLOW_UP_DAYS", 7)
OTKLIK_SURVEY_AFTER_DAYS = env_float("OTKLIK_SURVEY_AFTER_DAYS", 3)
OTKLIK_SURVEY_ANSWER_DAYS = env_float("OTKLIK_SURVEY_ANSWER_DAYS", 7)
OTKLIK_DEMO_PASSWORD = env_str("OTKLIK_DEMO_PASSWORD", "otklik-demo")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("OTKLIK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if env_bool("OTKLIK_FAST_TESTS", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
