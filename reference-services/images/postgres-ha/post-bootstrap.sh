#!/bin/sh
# Patroni runs this once the cluster exists — after initdb, and after a
# restore from backup — with a superuser connection string as $1. It is
# idempotent: it creates the application role, one database per service and
# the pgBackRest stanza only where they are missing.
set -eu
psql -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'CREATE ROLE app LOGIN PASSWORD ''app''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app')\gexec
SELECT 'CREATE DATABASE orders OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'orders')\gexec
SELECT 'CREATE DATABASE analytics OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'analytics')\gexec
SQL
pgbackrest --stanza=faultline stanza-create
