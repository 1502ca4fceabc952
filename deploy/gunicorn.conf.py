"""gunicorn settings for Otklik's web processes (deploy/otklik-web.service: `gunicorn -c deploy/gunicorn.conf.py`).

Behind nginx (deploy/nginx-otklik.conf) on 127.0.0.1: nginx terminates TLS and buffers slow clients, so plain sync
workers suffice. Every value can be changed by the environment (/etc/otklik/otklik.env) without editing this file.
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "otklik.wsgi:application"
# Loopback only: the proxy is the one way in (settings.SECURE_PROXY_SSL_HEADER trusts its X-Forwarded-Proto).
bind = os.environ.get("OTKLIK_GUNICORN_BIND", "127.0.0.1:8000")
# Pages are rendered by Python (CPU): about two processes per core. Each loads the answer-checking dictionary and the
# similar-answers index in the background at start (otklik/wsgi.py): ~350 MB resident per process (demo data).
workers = int(os.environ.get("OTKLIK_WEB_WORKERS", str(min(2 * multiprocessing.cpu_count() + 1, 9))))
worker_class = "sync"
# The slowest pages (an XLSX export of a large list, the month report) take seconds; nothing should take a minute.
timeout = int(os.environ.get("OTKLIK_WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A process is replaced after this many requests (with jitter, so not all at once): memory stays bounded.
max_requests = int(os.environ.get("OTKLIK_WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Not preloaded: each worker starts its own warm-up thread (threads do not survive fork) and its own DB connections.
preload_app = False
# Request lines to stdout, errors to stderr: journald keeps both (journalctl -u otklik-web).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("OTKLIK_WEB_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
# X-Forwarded-* are honoured from the proxy on this machine only.
forwarded_allow_ips = os.environ.get("OTKLIK_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "otklik-web"
# gunicorn >= 25.1 opens a control socket (for `gunicornc`) at $XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl, one path
# per user: a second instance would take it over. systemctl reload/restart is the control here.
control_socket_disable = True
