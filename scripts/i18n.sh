#!/usr/bin/env bash
# Extract every message from code and templates and merge it into the catalogs.
# Translate the new entries in app/translations/*/LC_MESSAGES/messages.po; the test suite fails
# while any zh_CN entry is missing or untranslated. Catalogs compile in memory at start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
KEYWORDS=(-k _ -k gettext -k ngettext:1,2 -k N_ -k DomainError -k InvalidInput -k NotAuthenticated
  -k Forbidden -k NotFound -k Conflict -k PayloadTooLarge -k RateLimited -k Unavailable
  -k RequestTimeout -k UnsupportedMediaType)
"$PY" -m babel.messages.frontend extract -F babel.cfg "${KEYWORDS[@]}" --no-location --sort-output \
  -o app/translations/messages.pot app
for locale in zh_CN en; do
  po="app/translations/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    "$PY" -m babel.messages.frontend update -i app/translations/messages.pot -d app/translations -l "$locale" --no-fuzzy-matching --ignore-obsolete
  else
    "$PY" -m babel.messages.frontend init -i app/translations/messages.pot -d app/translations -l "$locale"
  fi
done
