#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL 15 server; exports MIRA_TEST_PG_URL for the postgres leg.
# PostgreSQL refuses to run as root, so the server runs as the `postgres` user when we are root.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PGBIN/pg_ctl" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's postgresql-15 for the PostgreSQL test leg"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  else
    echo "PostgreSQL 15 is not installed (apt-get install postgresql-15); the postgres leg will be skipped" >&2
    exec "$@"
  fi
fi
DATA=$(mktemp -d /tmp/mira-pg.XXXXXX)
PORT=${MIRA_TEST_PG_PORT:-54329}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DATA"
as_pg "$PGBIN/initdb" -D "$DATA/db" -A trust -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
cleanup() { as_pg "$PGBIN/pg_ctl" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$DATA"; }
trap cleanup EXIT
export MIRA_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
set +e
"$@"
rc=$?
exit $rc
