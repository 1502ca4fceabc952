#!/usr/bin/env bash
# Fails when a user-facing string in the code has no Russian translation (or only a fuzzy guess).
# Works on a copy of the sources (makemessages rewrites the catalogue it finds), so the tree is left as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r manage.py otklik templates locale "$tmp/"
(cd "$tmp" && OTKLIK_VAR_DIR="$tmp/var" "$OLDPWD/.venv/bin/python" manage.py makemessages -l ru --no-obsolete >/dev/null)
po="$tmp/locale/ru/LC_MESSAGES/django.po"
missing="$(msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid' || true)"
fuzzy="$(msgattrib --only-fuzzy --no-obsolete "$po" | grep -c '^msgid' || true)"
# msgattrib prints the header entry too whenever it prints anything.
((missing > 0)) && missing=$((missing - 1))
((fuzzy > 0)) && fuzzy=$((fuzzy - 1))
if ((missing + fuzzy > 0)); then
    echo "Untranslated or fuzzy messages (run makemessages -l ru and translate them in locale/ru/LC_MESSAGES/django.po):"
    msgattrib --untranslated --no-obsolete "$po" | grep -A1 '^msgid' | grep -v '^--' | tail -n +3
    msgattrib --only-fuzzy --no-obsolete "$po" | grep -A1 '^msgid' | grep -v '^--' | tail -n +3
    exit 1
fi
if ! cmp -s <(msgunfmt locale/ru/LC_MESSAGES/django.mo | msgattrib --no-obsolete 2>/dev/null | grep -c '^msgid') \
           <(msgattrib --translated --no-fuzzy locale/ru/LC_MESSAGES/django.po | grep -c '^msgid'); then
    echo "locale/ru/LC_MESSAGES/django.mo is out of date: run manage.py compilemessages -l ru" >&2
    exit 1
fi
echo "every message has a Russian translation"
