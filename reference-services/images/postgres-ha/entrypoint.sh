#!/bin/sh
# Runs Patroni as the postgres user; the harness uploads /etc/patroni/patroni.yml.
set -eu
mkdir -p /var/lib/postgresql/data /var/run/postgresql
chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql
chmod 0700 /var/lib/postgresql/data
exec env HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups \
  patroni /etc/patroni/patroni.yml
