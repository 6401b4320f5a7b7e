#!/usr/bin/env bash
# The real servers the tests use, installed from Debian's packages when missing and started
# when not running: a private PostgreSQL cluster on 127.0.0.1 and a Java runtime for Spark.
# Idempotent: a second run finds both and does nothing. Prints the URL of the test database:
#   LAPSELENS_TEST_PG=postgresql://postgres@127.0.0.1:55432/postgres
# Settings: LAPSELENS_PG_PORT (default 55432), LAPSELENS_PG_DIR (default /tmp/lapselens-pg).
set -euo pipefail
PORT="${LAPSELENS_PG_PORT:-55432}"
DIR="${LAPSELENS_PG_DIR:-${TMPDIR:-/tmp}/lapselens-pg}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
dpkg -s postgresql >/dev/null 2>&1 || missing+=(postgresql)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "services: installing ${missing[*]} from Debian's packages" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The newest installed PostgreSQL's programs (Debian keeps them off the PATH).
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$BIN" ]; then
  echo "services: no PostgreSQL programs under /usr/lib/postgresql after the install" >&2
  exit 1
fi
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

if ! as_postgres "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    $SUDO mkdir -p "$DIR"
    $SUDO chown postgres:postgres "$DIR"
    # Trust on the loopback for the superuser: the tests' server holds nothing but test data.
    # The role pw_reader must give its password (the tests check that a wrong one is refused).
    # Sockets go to the cluster's own folder.
    as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >/dev/null
    hba="$DIR/data/pg_hba.conf"
    as_postgres sh -c "{ echo 'host all pw_reader 127.0.0.1/32 scram-sha-256'; cat '$hba'; } > '$hba.new' && mv '$hba.new' '$hba'"
  fi
  as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
