#!/bin/sh
# Runs Patroni as the postgres user (the harness uploads
# /etc/patroni/patroni.yml), with the periodic base-backup loop beside it.
set -eu
mkdir -p /var/lib/postgresql/data /var/run/postgresql /var/lib/pgbackrest /var/log/pgbackrest
chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql /var/lib/pgbackrest /var/log/pgbackrest
chmod 0700 /var/lib/postgresql/data
as_postgres() {
  env HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups "$@"
}
as_postgres /usr/local/bin/faultline-backup-loop >/dev/null 2>&1 &
exec env HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups \
  patroni /etc/patroni/patroni.yml
