#!/usr/bin/env bash
# Prepare a checkout to run Otklik: a Python 3.12+ interpreter, uv, the locked packages in .venv, and the
# compiled translations. Safe to run again and again: every step is skipped or quick when already done.
#
# Environment: OTKLIK_PYTHON=/path/to/python3 forces the interpreter used to create .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

# 1. Find an interpreter: PATH python3.12/3.13/3.14, then pyenv's versions, then a plain python3 if it is new
#    enough. Each candidate is run, because pyenv shims exist for versions that are not active.
find_python() {
    local candidate
    if [[ -n "${OTKLIK_PYTHON:-}" ]]; then
        python_ok "$OTKLIK_PYTHON" && { echo "$OTKLIK_PYTHON"; return 0; }
        die "OTKLIK_PYTHON=$OTKLIK_PYTHON is not a working Python 3.12 or newer."
    fi
    for candidate in python3.12 python3.13 python3.14; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    while IFS= read -r candidate; do
        if [[ -n "$candidate" ]] && python_ok "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done < <(compgen -G "$HOME/.pyenv/versions/3.1[2-9].*/bin/python3" | sort -V)
    if command -v python3 >/dev/null 2>&1 && python_ok python3; then
        command -v python3
        return 0
    fi
    return 1
}

venv_ok() { [[ -x .venv/bin/python ]] && python_ok .venv/bin/python; }

PYTHON=""
if ! venv_ok; then
    PYTHON="$(find_python)" || die "Otklik needs Python 3.12 or newer, and none was found.
Looked for python3.12, python3.13, python3.14 on PATH, ~/.pyenv/versions/3.1[2-9].*/bin/python3 and python3.
Install one (e.g. 'apt-get install python3.12', or 'pyenv install 3.12') or point OTKLIK_PYTHON at it, then retry."
    say "Python: $PYTHON ($("$PYTHON" --version 2>&1))"
fi

# 2. uv: on PATH, or as a module of the interpreter, or installed with that interpreter's pip.
UV=()
if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then
    UV=(uv)
else
    base="${PYTHON:-$(find_python || true)}"
    [[ -n "$base" ]] || base=.venv/bin/python
    if ! "$base" -m uv --version >/dev/null 2>&1; then
        say "uv not found: installing it with $base -m pip install --user uv"
        "$base" -m pip --version >/dev/null 2>&1 || "$base" -m ensurepip --user >/dev/null 2>&1 \
            || die "$base has no pip; install uv yourself (https://docs.astral.sh/uv/) and retry."
        "$base" -m pip install --user --quiet uv \
            || "$base" -m pip install --user --quiet --break-system-packages uv \
            || die "Could not install uv with pip; install it yourself (https://docs.astral.sh/uv/) and retry."
    fi
    UV=("$base" -m uv)
fi

# 3. The locked packages. An existing healthy .venv is kept (uv only adds/removes what differs from uv.lock).
say "Packages: uv sync --frozen"
if [[ -n "$PYTHON" ]]; then
    "${UV[@]}" sync --frozen --python "$PYTHON"
else
    "${UV[@]}" sync --frozen
fi
venv_ok || die ".venv was not created with Python 3.12+."

# 4. Translations (Russian is the default language). GNU gettext's msgfmt does the compiling.
PO=locale/ru/LC_MESSAGES/django.po
if [[ ! -f "$PO" ]]; then
    say "Translations: $PO does not exist yet, skipped"
    exit 0
fi
if ! command -v msgfmt >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "msgfmt not found: apt-get install gettext"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q gettext >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q gettext; }
    else
        die "compiling translations needs GNU gettext's msgfmt: install the 'gettext' package and retry."
    fi
fi
say "Translations: compilemessages"
# Only our locale/: without --ignore Django walks .venv and recompiles every installed package's catalogues.
.venv/bin/python manage.py compilemessages -l ru --ignore=.venv --ignore=var --ignore=node_modules \
    --ignore=staticfiles --ignore=.git
