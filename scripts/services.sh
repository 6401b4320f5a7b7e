#!/usr/bin/env bash
# The real servers the tests use, installed from Debian's packages when missing and started
# when not running: a private PostgreSQL cluster and a private MariaDB (MySQL) server on 127.0.0.1,
# and a Java runtime for Spark. Idempotent: a second run finds them and does nothing. Prints the
# URLs of the test databases, PostgreSQL's on the first line (as it always has), MySQL's on the second:
#   postgresql://postgres@127.0.0.1:55432/postgres   (scripts/test.sh exports it as LAPSELENS_TEST_PG)
#   mysql://root@127.0.0.1:53306/lapselens           (scripts/test.sh exports it as LAPSELENS_TEST_MYSQL)
# Settings: LAPSELENS_PG_PORT (default 55432), LAPSELENS_PG_DIR (default /tmp/lapselens-pg),
# LAPSELENS_MYSQL_PORT (default 53306), LAPSELENS_MYSQL_DIR (default /tmp/lapselens-mysql).
set -euo pipefail
PORT="${LAPSELENS_PG_PORT:-55432}"
DIR="${LAPSELENS_PG_DIR:-${TMPDIR:-/tmp}/lapselens-pg}"
MY_PORT="${LAPSELENS_MYSQL_PORT:-53306}"
MY_DIR="${LAPSELENS_MYSQL_DIR:-${TMPDIR:-/tmp}/lapselens-mysql}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
dpkg -s postgresql >/dev/null 2>&1 || missing+=(postgresql)
dpkg -s mariadb-server >/dev/null 2>&1 || missing+=(mariadb-server)
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

# A private MariaDB server (Debian's MySQL): its own data folder, socket and port, run as the
# mysql user, so a system server (if any) is never touched. The package's own service is not used.
my_admin() { mariadb-admin --no-defaults --connect-timeout=2 -h 127.0.0.1 -P "$MY_PORT" -u root "$@"; }
if ! my_admin ping >/dev/null 2>&1; then
  if [ ! -d "$MY_DIR/data/mysql" ]; then
    $SUDO mkdir -p "$MY_DIR"
    $SUDO chown mysql:mysql "$MY_DIR"
    $SUDO mariadb-install-db --no-defaults --user=mysql --datadir="$MY_DIR/data" --skip-test-db \
      --auth-root-authentication-method=socket >"$MY_DIR/install.log" 2>&1
  fi
  # Durability off (test data only); utf8mb4 so Chinese names and values keep every character.
  $SUDO setsid mariadbd --no-defaults --user=mysql --datadir="$MY_DIR/data" --socket="$MY_DIR/mysqld.sock" \
    --pid-file="$MY_DIR/mysqld.pid" --log-error="$MY_DIR/server.log" --port="$MY_PORT" --bind-address=127.0.0.1 \
    --skip-name-resolve --skip-log-bin --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-buffer-pool-size=128M \
    --max-allowed-packet=256M --local-infile=1 </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 120); do
    mariadb-admin --no-defaults --connect-timeout=2 -S "$MY_DIR/mysqld.sock" -u root ping >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
# Root may come over the loopback without a password: the tests' server holds nothing but test data
# (the role pw_reader, made by the tests, must give its password). Idempotent, so run every time.
# Over the server's own socket, as the system's root (MariaDB's unix_socket sign-in).
$SUDO mariadb --no-defaults -S "$MY_DIR/mysqld.sock" -u root -e "
  CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
  GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
  CREATE DATABASE IF NOT EXISTS lapselens CHARACTER SET utf8mb4;" || {
  echo "services: MariaDB does not answer on 127.0.0.1:$MY_PORT (see $MY_DIR/server.log)" >&2
  exit 1
}
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
echo "mysql://root@127.0.0.1:$MY_PORT/lapselens"
