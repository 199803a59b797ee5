#!/usr/bin/env bash
# Makes sure a local PostgreSQL server runs on 127.0.0.1:5432 with an `esms` role, and prints its URL.
# Installs Debian's server when missing (root only). Everything it says goes to stderr.
set -euo pipefail
exec 3>&1 1>&2
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || exit 1
    echo "Installation du serveur PostgreSQL (Debian)…"
    # The package may start its server: like below, it must not hold the caller's pipes open.
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
        </dev/null >"$log" 2>&1 3>&-; then
        cat "$log"; rm -f "$log"; exit 1
    fi
    rm -f "$log"
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
    # The server outlives this script: it must not inherit the pipe of the caller's $(…) (fd 3, stdout) nor
    # the caller's stderr, or whoever reads them waits for it forever.
    log=$(mktemp)
    if ! pg_ctlcluster "$version" main start </dev/null >"$log" 2>&1 3>&-; then
        cat "$log"; rm -f "$log"; exit 1
    fi
    rm -f "$log"
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sh -c "$1"; fi; }
for _ in $(seq 1 30); do
    as_postgres "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
as_postgres "psql -qAtc \"select 1 from pg_roles where rolname='esms'\"" | grep -q 1 \
    || as_postgres "psql -qc \"create role esms login superuser password 'esms'\""
as_postgres "psql -qAtc \"select 1 from pg_database where datname='esms'\"" | grep -q 1 \
    || as_postgres "createdb -O esms esms"
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
echo "postgres://esms:esms@127.0.0.1:${port}/esms" >&3
