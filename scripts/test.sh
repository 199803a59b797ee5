#!/usr/bin/env bash
# The test command (README, .ci/run): lint, then the whole suite on PostgreSQL with a real browser.
# It installs what it needs (Debian's chromium, a PostgreSQL server) when it can; in CI it must.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Debian's chromium drives the page tests; poppler-utils renders the PDF documents in their tests.
for tool in chromium:chromium pdftoppm:poppler-utils; do
    if ! command -v "${tool%%:*}" >/dev/null; then
        if can_install; then
            echo "Installation de ${tool#*:} (Debian)…"
            apt_install "${tool#*:}"
        elif [ "${CI:-}" = true ]; then
            echo "${tool#*:} est requis en CI" >&2; exit 1
        fi
    fi
done

if [ -z "${DATABASE_URL:-}" ]; then
    if url=$(bash scripts/postgres.sh); then
        export DATABASE_URL="$url"
    elif [ "${CI:-}" = true ]; then
        echo "PostgreSQL est requis en CI" >&2; exit 1
    else
        echo "PostgreSQL indisponible : les tests tournent sur SQLite." >&2
    fi
fi
echo "Base de test : ${DATABASE_URL:-sqlite}"

$VENV/bin/ruff check .
$VENV/bin/ruff format --check .
$VENV/bin/yamllint -s esms_numerique/rules/parameters tests/rules/scenarios
$VENV/bin/esms params check
# The whole suite takes a few minutes; past 30 something hangs, and CI should say so rather than wait.
timeout 30m $VENV/bin/python -m pytest "$@"
if [ -n "${DATABASE_URL:-}" ] && [ $# -eq 0 ]; then
    echo "Répertoire FINESS, une seconde fois sur SQLite (la base embarquée par défaut) :"
    env -u DATABASE_URL $VENV/bin/python -m pytest tests/registry -q
fi
