"""Production settings: `manage.py check --deploy` is clean, cookies are Secure/HttpOnly/SameSite, http is redirected
to https (but /healthz answers), and the embedded mode (`make run`, no secret key of its own) stays on plain http.

The settings are computed from the environment when the module is imported: each case evaluates otklik/settings.py
afresh with the environment it describes (runpy), or runs manage.py in a subprocess.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tests import factories

BASE_DIR = Path(__file__).resolve().parents[2]
SETTINGS_FILE = BASE_DIR / "otklik" / "settings.py"
# Long, random-looking and not the embedded demo key (security.W009 wants >= 50 characters, >= 5 distinct).
PRODUCTION_KEY = "t3st-only-Qm9vX2RlcGxveV9jaGVja19rZXlfdGhhdF9pc19sb25nX2Vub3VnaA-8f2c"
PRODUCTION_ENV = {
    "OTKLIK_DEBUG": "false",
    "OTKLIK_SECRET_KEY": PRODUCTION_KEY,
    "OTKLIK_ALLOWED_HOSTS": "otklik.city.example",
    "OTKLIK_CSRF_TRUSTED_ORIGINS": "https://otklik.city.example",
    "OTKLIK_SITE_URL": "https://otklik.city.example",
    "OTKLIK_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}
# Variables of ours that would change the outcome if the developer's shell had them.
OVERRIDABLE = (
    "OTKLIK_HTTPS",
    "OTKLIK_BEHIND_PROXY",
    "OTKLIK_HSTS_SECONDS",
    "OTKLIK_HSTS_INCLUDE_SUBDOMAINS",
    "OTKLIK_HSTS_PRELOAD",
    "OTKLIK_STATIC_MANIFEST",
    "OTKLIK_SESSION_HOURS",
)
SECURITY_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_AGE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "CSRF_COOKIE_NAME",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
)


def _environ(extra: dict[str, str], *, without: tuple[str, ...] = ()) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests (Playwright's event loop) in this process: a deployment
    # never has it, and `check --deploy` rightly refuses it (async.E001).
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in OVERRIDABLE and key not in without and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(extra)
    return env


def load_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *, without: tuple[str, ...] = ()) -> dict:
    """otklik/settings.py evaluated with `env` on top of the current environment (minus `without`)."""
    for key in (*OVERRIDABLE, *without):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(SETTINGS_FILE))


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_is_clean_with_production_settings():
    env = _environ({**PRODUCTION_ENV, "OTKLIK_WARM_UP": "0"})
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_fails_when_https_is_turned_off():
    """The same environment with OTKLIK_HTTPS=false: the check names what is missing (it can fail)."""
    env = _environ({**PRODUCTION_ENV, "OTKLIK_HTTPS": "false", "OTKLIK_WARM_UP": "0"})
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in output, output


def test_production_settings_are_secure_by_default(monkeypatch):
    conf = load_settings(monkeypatch, PRODUCTION_ENV)
    assert conf["OTKLIK_PRODUCTION"] is True
    assert conf["OTKLIK_HTTPS"] is True
    assert conf["SECURE_SSL_REDIRECT"] is True
    assert conf["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert conf["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert conf["SESSION_COOKIE_SECURE"] is True
    assert conf["CSRF_COOKIE_SECURE"] is True
    assert conf["SESSION_COOKIE_HTTPONLY"] is True
    assert conf["CSRF_COOKIE_HTTPONLY"] is True
    assert conf["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert conf["SESSION_COOKIE_AGE"] == 12 * 3600
    assert conf["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    middleware = conf["MIDDLEWARE"]
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == (
        middleware.index("django.middleware.security.SecurityMiddleware") + 1
    )


def test_embedded_mode_stays_on_plain_http(monkeypatch):
    """`make run` and the tests: DEBUG off but no secret key of their own — cookies must work over http."""
    conf = load_settings(monkeypatch, {"OTKLIK_DEBUG": "false"}, without=("OTKLIK_SECRET_KEY",))
    assert conf["SECRET_KEY"] == conf["EMBEDDED_SECRET_KEY"]
    assert conf["OTKLIK_HTTPS"] is False
    assert conf["SECURE_SSL_REDIRECT"] is False
    assert conf["SESSION_COOKIE_SECURE"] is False
    assert conf["CSRF_COOKIE_SECURE"] is False
    assert conf["SECURE_HSTS_SECONDS"] == 0
    assert conf["SECURE_PROXY_SSL_HEADER"] is None
    assert "SESSION_COOKIE_NAME" not in conf  # Django's "sessionid": a __Host- cookie needs HTTPS
    # No collectstatic needed: plain storage, whitenoise finds the source files.
    assert conf["STORAGES"]["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert conf["WHITENOISE_USE_FINDERS"] is True


def test_https_can_be_turned_off_for_a_plain_http_trial(monkeypatch):
    conf = load_settings(monkeypatch, {**PRODUCTION_ENV, "OTKLIK_HTTPS": "false"})
    assert conf["SESSION_COOKIE_SECURE"] is False
    assert conf["SECURE_SSL_REDIRECT"] is False
    # Still a production installation: hashed static files from collectstatic.
    assert conf["OTKLIK_STATIC_MANIFEST"] is True


def test_https_without_a_secret_key_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="OTKLIK_SECRET_KEY"):
        load_settings(monkeypatch, {"OTKLIK_HTTPS": "true"}, without=("OTKLIK_SECRET_KEY",))


@pytest.fixture
def production_security(monkeypatch, settings):
    """The security part of the production settings, applied to the running test settings."""
    conf = load_settings(monkeypatch, PRODUCTION_ENV)
    with override_settings(**{name: conf[name] for name in SECURITY_SETTINGS}):
        yield conf


def _cookie_flags(response, name: str) -> dict[str, object]:
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}


HTTPS = {"secure": True, "HTTP_HOST": "otklik.city.example"}


@pytest.mark.django_db
def test_production_session_and_csrf_cookies_are_secure_httponly_samesite(production_security, client, operator):
    page = client.get("/login/", **HTTPS)
    assert page.status_code == 200
    csrf_name = production_security["CSRF_COOKIE_NAME"]
    assert csrf_name == "__Host-csrftoken"
    assert _cookie_flags(page, csrf_name) == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert page.cookies[csrf_name]["path"] == "/"
    assert not page.cookies[csrf_name]["domain"]  # a __Host- cookie must carry no Domain

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    client.handler.enforce_csrf_checks = True
    login = client.post(
        "/login/",
        {"username": "operator", "password": factories.PASSWORD, "csrfmiddlewaretoken": token},
        HTTP_REFERER="https://otklik.city.example/login/",
        **HTTPS,
    )
    assert login.status_code == 302, login.content[:500]
    session_name = production_security["SESSION_COOKIE_NAME"]
    assert _cookie_flags(login, session_name) == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert login.cookies[session_name]["max-age"] == 12 * 3600
    assert login["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_production_redirects_http_to_https_except_healthz(production_security, client, settings):
    settings.CELERY_BROKER_URL = "memory://"
    plain = client.get("/login/", HTTP_HOST="otklik.city.example")
    assert plain.status_code == 301
    assert plain["Location"] == "https://otklik.city.example/login/"
    # Behind nginx: X-Forwarded-Proto says the browser spoke https.
    proxied = client.get("/login/", HTTP_HOST="otklik.city.example", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    # Monitoring on 127.0.0.1 over http gets the answer itself (503 here: no worker heartbeat), not a redirect.
    health = client.get("/healthz", HTTP_HOST="otklik.city.example")
    assert health.status_code in (200, 503)
    assert health["Content-Type"] == "application/json"


def test_every_css_url_of_our_static_files_exists():
    """collectstatic's manifest storage refuses a CSS file that references a missing file (production only)."""
    missing = []
    for css in (BASE_DIR / "static").rglob("*.css"):
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "http:", "https:", "//", "#")):
                continue
            target = (css.parent / ref.split("?")[0].split("#")[0]).resolve()
            if not target.is_file():
                missing.append(f"{css.relative_to(BASE_DIR)}: {ref}")
    assert missing == []


# --- deploy/: the files docs/DEPLOY.md installs -----------------------------------------------------------------

DEPLOY_DIR = BASE_DIR / "deploy"
UNITS = ("otklik-web.service", "otklik-worker@.service", "otklik-beat.service")


def _exec_start(unit: str) -> str:
    text = (DEPLOY_DIR / unit).read_text(encoding="utf-8").replace("\\\n", " ")
    return re.search(r"^ExecStart=(.+)$", text, re.MULTILINE).group(1)


def test_every_deploy_file_is_described_in_deploy_md():
    guide = (BASE_DIR / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    for path in DEPLOY_DIR.iterdir():
        assert f"deploy/{path.name}" in guide, path.name


def test_the_units_run_the_repository_from_opt_otklik_app_with_the_environment_file():
    for unit in UNITS:
        text = (DEPLOY_DIR / unit).read_text(encoding="utf-8")
        assert "EnvironmentFile=/etc/otklik/otklik.env" in text
        assert "WorkingDirectory=/opt/otklik/app" in text
        assert "User=otklik" in text
    assert _exec_start("otklik-web.service").split() == [
        "/opt/otklik/app/.venv/bin/gunicorn",
        "-c",
        "/opt/otklik/app/deploy/gunicorn.conf.py",
    ]
    assert " worker " in _exec_start("otklik-worker@.service")
    assert " beat " in _exec_start("otklik-beat.service")
    # Celery's warm shutdown: SIGTERM to the main process only.
    assert "KillMode=mixed" in (DEPLOY_DIR / "otklik-worker@.service").read_text(encoding="utf-8")


def test_gunicorn_config_binds_loopback_and_serves_the_wsgi_application(monkeypatch):
    for name in ("OTKLIK_GUNICORN_BIND", "OTKLIK_WEB_WORKERS", "OTKLIK_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(DEPLOY_DIR / "gunicorn.conf.py"))
    assert conf["wsgi_app"] == "otklik.wsgi:application"
    assert conf["bind"] == "127.0.0.1:8000"
    assert conf["forwarded_allow_ips"] == "127.0.0.1"
    assert 1 <= conf["workers"] <= 9
    assert conf["timeout"] < 90  # below nginx's proxy_read_timeout: gunicorn gives up first


def test_nginx_site_overwrites_the_scheme_header_and_serves_no_media():
    site = (DEPLOY_DIR / "nginx-otklik.conf").read_text(encoding="utf-8")
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "proxy_read_timeout 90s;" in site
    assert not re.search(r"^\s*location\s+/media/", site, re.MULTILINE)
    assert "return 301 https://$host$request_uri;" in site


@pytest.mark.skipif(not (Path("/usr/sbin/nginx").exists() and Path("/usr/bin/openssl").exists()), reason="no nginx")
def test_nginx_site_passes_nginx_t(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=otklik.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (DEPLOY_DIR / "nginx-otklik.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/ssl/otklik/fullchain.pem", str(cert)).replace("/etc/ssl/otklik/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include /etc/nginx/mime.types; access_log off; include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
