#!/usr/bin/env bash
# Makes a PostgreSQL server reachable for the tests and prints the admin URL to use on stdout.
# Order: a server already answering on 127.0.0.1:5432 with trust auth; the machine's cluster,
# started; otherwise a throwaway cluster (initdb, trust auth) in a temp dir on port 54329,
# installing Debian's postgresql package first if needed. Exits non-zero when none works:
# the tests never skip PostgreSQL.
set -euo pipefail

log() { echo "ensure-postgres: $*" >&2; }
works() { psql "$1" -qtAc 'select 1' >/dev/null 2>&1; }

URL="${LESSEE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if command -v psql >/dev/null && works "$URL"; then echo "$URL"; exit 0; fi

if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  for v in $(ls /etc/postgresql); do
    log "starting cluster $v/main"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 2>&1 || true
  done
  for _ in $(seq 1 30); do works "$URL" && { echo "$URL"; exit 0; }; sleep 1; done
fi

# A throwaway cluster of our own.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing postgresql from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
fi
BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
DIR=${LESSEE_PG_DIR:-/tmp/lessee-pg}
PORT=54329
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
if works "$URL"; then echo "$URL"; exit 0; fi
RUN=(); [ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)
id postgres >/dev/null 2>&1 || useradd --system --home "$DIR" postgres
rm -rf "$DIR" && mkdir -p "$DIR" && chown postgres "$DIR" 2>/dev/null || true
log "initdb of a throwaway cluster in $DIR on port $PORT"
"${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust >&2
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" -l "$DIR/log" -w start >&2
works "$URL" || { log "PostgreSQL could not be started"; exit 1; }
echo "$URL"
