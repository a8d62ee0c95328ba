#!/bin/bash
# Starts PostgreSQL as the primary (a new cluster with the shop's schema on
# first start) or as a streaming standby of $PRIMARY_HOST (a base backup on
# first start). A standby that was promoted stays a primary.
set -euo pipefail

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$ROLE" = primary ]; then
    initdb -D "$PGDATA" --auth-local=trust --auth-host=scram-sha-256 --data-checksums >/dev/null
    cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
wal_keep_size = 256MB
CONF
    cat >> "$PGDATA/pg_hba.conf" <<HBA
host replication replicator all scram-sha-256
host all all all scram-sha-256
HBA
    pg_ctl -D "$PGDATA" -w start -o "-c listen_addresses=''" >/dev/null
    psql -v ON_ERROR_STOP=1 -q -d postgres <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replicator';
CREATE ROLE shop WITH LOGIN PASSWORD 'shop';
CREATE DATABASE shop OWNER shop;
\c shop
CREATE TABLE orders (
  id text PRIMARY KEY,
  item text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE orders OWNER TO shop;
SELECT pg_create_physical_replication_slot('standby');
SQL
    pg_ctl -D "$PGDATA" -w stop >/dev/null
  else
    until pg_isready -q -h "$PRIMARY_HOST"; do sleep 1; done
    PGPASSWORD=replicator pg_basebackup -h "$PRIMARY_HOST" -U replicator \
      -D "$PGDATA" -X stream -S standby -R --checkpoint=fast
  fi
fi
exec postgres -D "$PGDATA"
