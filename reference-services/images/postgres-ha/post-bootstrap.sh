#!/bin/sh
# Patroni runs this once, on the node that initialised the cluster, with a
# superuser connection string as $1: it creates the application role and one
# database per service.
set -eu
psql -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE DATABASE orders OWNER app;
CREATE DATABASE analytics OWNER app;
SQL
